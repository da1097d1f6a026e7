"""Save, log, register and load models: what ``dockyard.sklearn``, ``dockyard.pyfunc``... are made of.

``log_model`` follows MLflow 3: the model becomes a *logged model* (``m-<id>``) of the run's experiment,
linked to the run as an output, its files at the logged model's artifact location
(``<experiment root>/models/m-<id>/artifacts``), and its URI is ``models:/m-<id>``. The model directory
is written and checked locally first, so a model that fails to save creates nothing in the store; a
failed upload removes the logged model and whatever was uploaded.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.artifacts.registry import artifact_store_for_uri
from dockyard.core.errors import DockyardError, InvalidParameter, RegisteredModelAlreadyExists
from dockyard.lifecycle import fluent
from dockyard.lifecycle.resolution import ModelResolver
from dockyard.models.manifest import ModelInfo
from dockyard.models.signature import ModelSignature
from dockyard.models.uris import parse_model_uri
from dockyard.registry.backends import open_registry
from dockyard.registry.entities import ModelVersion
from dockyard.tracking.entities import ModelOutput
from dockyard.tracking.registrations import record_registration

if TYPE_CHECKING:
    from dockyard.lifecycle.client import Client
    from dockyard.models.loading import Predictor

_TRAINING_DATA: contextvars.ContextVar[Any] = contextvars.ContextVar("dockyard_training_data", default=None)


@contextlib.contextmanager
def default_training_data(data: Any) -> Iterator[None]:
    """Inside this block (this thread or task only), ``log_model`` called without ``training_data`` profiles
    ``data``: how ``dockyard.optuna.optimize(..., training_data=X)`` hands a search's training inputs to the
    models its trials log. None changes nothing."""
    token = _TRAINING_DATA.set(data)
    try:
        yield
    finally:
        _TRAINING_DATA.reset(token)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter("name: a model needs a non-empty name")
    if name.startswith("/") or ".." in name.split("/") or "\\" in name:
        raise InvalidParameter(f"name {name!r}: must be a relative path without '..'")
    return name


def _client_and_run(client: Client | None, run_id: str | None) -> tuple[Client, str]:
    if client is None:
        client = fluent.current_client()
    if run_id is None:
        active = fluent.active_run()
        run_id = active.info.run_id if active is not None else fluent.start_run().info.run_id
    return client, run_id


def log_model(
    flavor: str | None,
    model: Any,
    name: str | None = None,
    *,
    artifact_path: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    extra_pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    metadata: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    run_id: str | None = None,
    client: Client | None = None,
    training_data: Any = None,
    **flavor_options: Any,
) -> ModelInfo:
    """Log ``model`` from the active run (one is started if none is) as a logged model; see module doc.

    ``training_data``: the model's training inputs (a DataFrame or array, without the target); a compact
    profile of them (and of the model's predictions on them) is stored with the model as
    ``training_profile.json``, for ``dockyard validate`` and ``dockyard monitor``; when not given, the data
    of an enclosing :func:`default_training_data` block (an Optuna trial's) is used."""
    from dockyard.models.saving import _flavor, write_model_dir

    if training_data is None:
        training_data = _TRAINING_DATA.get()

    model_name = _check_name(name or artifact_path or "model")
    chosen = _flavor(model, flavor)
    client, run_id = _client_and_run(client, run_id)
    run = client.get_run(run_id)
    with tempfile.TemporaryDirectory(prefix="dockyard-model-") as tmp:
        local = Path(tmp) / "model"
        local.mkdir()
        manifest = write_model_dir(
            model,
            local,
            chosen,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            code_paths=code_paths,
            metadata=metadata,
            flavor_options=flavor_options,
            run_id=run_id,
        )
        if training_data is not None:
            from dockyard.models.profile import build_profile, with_predictions, write_profile

            profile = build_profile(training_data)  # an empty or unreadable table is refused before predicting
            predict = getattr(model, "predict", None)
            if callable(predict):
                profile = with_predictions(profile, predict(training_data))
            write_profile(local, profile)
        logged = client.create_logged_model(
            run.info.experiment_id, model_name, source_run_id=run_id, params=params, tags=tags, model_type=model_type
        )
        store = None
        try:
            manifest.model_id = manifest.model_uuid = logged.model_id
            manifest.artifact_path = logged.artifact_location
            manifest.save(local)
            store = artifact_store_for_uri(logged.artifact_location, tracking_uri=client.tracking_uri)
            store.log_dir(local)
            client.finalize_logged_model(logged.model_id, "READY")
            client.log_outputs(run_id, [_output(logged.model_id, step)])
        except BaseException:
            _undo(client, logged.model_id, store)
            raise
    version = None
    uri = f"models:/{logged.model_id}"
    if registered_model_name is not None:
        version = register_model(uri, registered_model_name, client=client).version
    return ModelInfo.of(manifest, uri, name=model_name, version=version)


def _output(model_id: str, step: int) -> Any:
    return ModelOutput(model_id, step)


def _undo(client: Client, model_id: str, store: Any) -> None:
    # Best effort: the original error is what the caller must see.
    if store is not None:
        with contextlib.suppress(OSError, DockyardError):
            store.delete()
    with contextlib.suppress(DockyardError):
        client.delete_logged_model(model_id)


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    client: Client | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as a new version of ``name`` (created if needed) and return
    that :class:`~dockyard.registry.entities.ModelVersion` (its number is ``.version``), as MLflow does.

    ``runs:/<run>/<path>`` naming a logged model registers that logged model (``models:/m-<id>``).
    ``await_registration_for`` is MLflow's argument, accepted and not needed: a version is READY when
    it is created.
    """
    client = client or fluent.current_client()
    parsed = parse_model_uri(model_uri)
    source, run_id, model_id = model_uri, parsed.run_id, parsed.model_id
    if parsed.kind == "run":
        logged = ModelResolver(client).run_logged_model(client.get_run(parsed.run_id or ""), parsed.path or "")
        if logged is not None:
            source, model_id = f"models:/{logged.model_id}", logged.model_id
    elif parsed.kind == "logged_model":
        run_id = client.get_logged_model(model_id or "").source_run_id
    registry = open_registry(client.settings)
    with contextlib.suppress(RegisteredModelAlreadyExists):
        registry.create_registered_model(name)
    version = registry.create_model_version(
        name, source, run_id=run_id, tags=tags, description=description, model_id=model_id
    )
    if model_id is not None:
        record_registration(client, model_id, name, int(version.version))
    return version


# MLflow's keyword for the model in each flavor's save_model/log_model (mlflow.sklearn.log_model(sk_model=...)).
MODEL_KEYWORDS = {
    "sklearn": "sk_model",
    "xgboost": "xgb_model",
    "lightgbm": "lgb_model",
    "pytorch": "pytorch_model",
    "onnx": "onnx_model",
}


class FlavorAPI:
    """``save_model``/``log_model``/``load_model`` bound to one flavor: the body of ``dockyard.<flavor>``.

    The model is the first argument, or MLflow's keyword for it (``sk_model=``, ``xgb_model=``, ...)."""

    def __init__(self, flavor: str) -> None:
        self.flavor = flavor

    def _model(self, model: Any, options: dict[str, Any]) -> Any:
        keyword = MODEL_KEYWORDS.get(self.flavor)
        if keyword is not None and keyword in options:
            if model is not None:
                raise InvalidParameter(f"{keyword}: the model was given twice (positionally and as {keyword}=)")
            model = options.pop(keyword)
        if model is None:
            raise InvalidParameter(f"{keyword or 'model'}: the model to save is required")
        return model

    def save_model(self, model: Any = None, path: str | os.PathLike[str] | None = None, **options: Any) -> ModelInfo:
        """Write ``model`` as a model directory at ``path``; see :func:`dockyard.models.save_model`."""
        from dockyard.models.saving import save_model

        model = self._model(model, options)
        if path is None:
            raise InvalidParameter("path: the directory to save the model in is required")
        manifest = save_model(model, path, flavor=self.flavor, **options)
        return ModelInfo.of(manifest, str(Path(path).resolve()))

    def log_model(self, model: Any = None, name: str | None = None, **options: Any) -> ModelInfo:
        """Log ``model`` from the active run as a logged model.

        See :func:`dockyard.lifecycle.model_logging.log_model`.
        """
        return log_model(self.flavor, self._model(model, options), name, **options)

    def load_model(
        self,
        model_uri: str | os.PathLike[str],
        dst_path: str | os.PathLike[str] | None = None,
        *,
        allow_pickle: bool | None = None,
        trusted_types: Iterable[str] | None = None,
    ) -> Any:
        """The native model object at ``model_uri`` (any model URI form).

        ``allow_pickle=True`` lets a model run code as it loads (a pickle, a whole PyTorch module, its
        ``code/``): only for a model whose source you trust; ``None`` leaves it to ``DOCKYARD_ALLOW_PICKLE``.
        ``trusted_types``: types a skops file may hold beyond those Dockyard trusts.
        """
        from dockyard.models.loading import load_native

        return load_native(
            model_uri, self.flavor, dst_path=dst_path, allow_pickle=allow_pickle, trusted_types=trusted_types
        )


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | os.PathLike[str] | None = None,
    *,
    allow_pickle: bool | None = None,
    trusted_types: Iterable[str] | None = None,
) -> Predictor:
    """A :class:`~dockyard.models.Predictor` for any model URI (``allow_pickle``, ``trusted_types``: see
    :func:`dockyard.models.load_model`)."""
    from dockyard.models.loading import load_model as load

    return load(model_uri, dst_path=dst_path, allow_pickle=allow_pickle, trusted_types=trusted_types)
