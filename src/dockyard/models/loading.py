"""Load a model directory: a :class:`Predictor` (any flavor) or a flavor's native object.

Loading checks the directory before importing anything heavy: ``MLmodel`` must parse, the files it
names must exist (a missing one is named in the error), and a model saved with another version of its
library gives a :class:`ModelVersionWarning` naming both versions.

A model that runs code when it loads (a pickle, a whole PyTorch module, its ``code/`` directory) loads
only with ``allow_pickle=True`` (``None``: ``DOCKYARD_ALLOW_PICKLE`` decides), and a skops file only with
types Dockyard or ``trusted_types`` trusts; see :mod:`dockyard.models.safety`.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidModel
from dockyard.models.enforce import enforce_params, enforce_schema
from dockyard.models.flavors import Flavor, Loaded, flavor_for_loader, get_flavor
from dockyard.models.manifest import MLMODEL, PYFUNC, Model
from dockyard.models.safety import LoadPolicy, applied, require_code_execution
from dockyard.models.signature import ModelSignature
from dockyard.models.uris import resolve_model_uri


class ModelVersionWarning(UserWarning):
    """The model was saved with another version of its library than the one installed."""


class Predictor:
    """A loaded model: ``predict(data, params=None)`` with the signature enforced, and its metadata."""

    def __init__(self, path: Path, metadata: Model, flavor: Flavor, loaded: Loaded) -> None:
        self.path = path
        self.metadata = metadata
        self.flavor = flavor.name
        self._loaded = loaded

    @property
    def signature(self) -> ModelSignature | None:
        return self.metadata.signature

    @property
    def native(self) -> Any:
        """The underlying model object (an estimator, a booster, a module, a PythonModel...)."""
        return self._loaded.native

    @property
    def model_id(self) -> str | None:
        return self.metadata.model_id

    @property
    def run_id(self) -> str | None:
        return self.metadata.run_id

    @property
    def input_example(self) -> Any:
        from dockyard.models.examples import load_example

        return load_example(self.path, self.metadata.saved_input_example_info)

    def prepare(self, data: Any, params: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any] | None]:
        """``(data, params)`` checked and coerced against the signature, as ``predict`` passes them on."""
        signature = self.metadata.signature
        if signature is None:
            return data, params
        if signature.inputs is not None:
            data = enforce_schema(data, signature.inputs)
        return data, enforce_params(params, signature.params)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        data, params = self.prepare(data, params)
        return self._loaded.predict(data, params)

    def __repr__(self) -> str:
        return f"<Predictor flavor={self.flavor!r} path={str(self.path)!r}>"


_code_lock = threading.Lock()


def _add_code_path(directory: Path, section: dict[str, Any]) -> None:
    code = section.get("code")
    if not code:
        return
    path = directory / str(code)
    if not path.is_dir():
        raise InvalidModel(f"model directory {directory} is missing directory {code} (its code_paths)")
    require_code_execution(f"{code}/", "the model's code directory (code_paths, put on sys.path)")
    with _code_lock:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def _check_files(directory: Path, section: dict[str, Any]) -> None:
    # The one place a missing model file is reported: flavors' load functions can assume their files.
    for key in ("model_path", "data", "python_model", "pickled_model", "model_data"):
        name = section.get(key)
        if isinstance(name, str) and name and not (directory / name).exists():
            raise InvalidModel(f"model directory {directory} is missing file {name} (named by MLmodel's {key})")


def _check_version(flavor: Flavor, section: dict[str, Any]) -> None:
    from dockyard.models.requirements import installed_version

    saved = section.get(flavor.version_key)
    if not saved:
        return
    installed = installed_version(flavor.package)
    saved_text = str(saved).split("+", 1)[0]
    if installed is not None and installed != saved_text:
        warnings.warn(
            f"this model was saved with {flavor.package} {saved_text} but {installed} is installed; "
            "it may fail to load or predict differently",
            ModelVersionWarning,
            stacklevel=4,
        )


def load_model(
    model_uri: str | os.PathLike[str],
    *,
    dst_path: str | os.PathLike[str] | None = None,
    allow_pickle: bool | None = None,
    trusted_types: Iterable[str] | None = None,
) -> Predictor:
    """A predictor for any model URI: a path, ``runs:/``, ``models:/``, ``s3://``...

    ``allow_pickle=True`` lets a model run code as it loads (a pickle, its ``code/``): only for a model
    whose source you trust; ``None`` leaves it to ``DOCKYARD_ALLOW_PICKLE``. ``trusted_types`` names the
    types a skops file may hold beyond those Dockyard trusts.

    >>> load_model("/no/such/model")
    Traceback (most recent call last):
    ...
    dockyard.core.errors.InvalidModel: /no/such/model is not a model directory: missing file MLmodel
    """
    policy = LoadPolicy.of(allow_pickle, trusted_types)
    directory = resolve_model_uri(model_uri, dst_path=dst_path)
    return load_predictor(directory, allow_pickle=policy.allow_pickle, trusted_types=policy.trusted_types)


def load_predictor(
    directory: Path,
    *,
    allow_pickle: bool | None = None,
    trusted_types: Iterable[str] | None = None,
    metadata: Model | None = None,
) -> Predictor:
    """A predictor for a local model directory (``allow_pickle`` and ``trusted_types`` as for load_model).

    ``metadata``: the directory's ``MLmodel`` already parsed (a serving bundle carries it as JSON, so its
    runtime needs no YAML parser); None reads the file.
    """
    policy = LoadPolicy.of(allow_pickle, trusted_types)
    if metadata is None:
        metadata = Model.load(directory)
    pyfunc = metadata.pyfunc
    if pyfunc is None:
        raise InvalidModel(
            f"the model at {directory} has no {PYFUNC} flavor to predict with "
            f"(its flavors: {', '.join(metadata.flavors)}); load it with its flavor's load_model"
        )
    loader = str(pyfunc.get("loader_module") or "")
    if not loader:
        raise InvalidModel(f"{directory / MLMODEL}: the {PYFUNC} section names no loader_module")
    flavor = flavor_for_loader(loader)
    _check_files(directory, pyfunc)
    _check_version(flavor, metadata.flavors.get(flavor.name, pyfunc))
    with applied(policy):
        _add_code_path(directory, pyfunc)
        return Predictor(directory, metadata, flavor, flavor.predictor(directory, pyfunc, metadata))


def load_native(
    model_uri: str | os.PathLike[str],
    flavor_name: str,
    *,
    dst_path: str | os.PathLike[str] | None = None,
    allow_pickle: bool | None = None,
    trusted_types: Iterable[str] | None = None,
) -> Any:
    """The native object of a model through one flavor (``dockyard.sklearn.load_model`` and friends)."""
    policy = LoadPolicy.of(allow_pickle, trusted_types)
    directory = resolve_model_uri(model_uri, dst_path=dst_path)
    metadata = Model.load(directory)
    section = metadata.flavors.get(flavor_name)
    if section is None:
        raise InvalidModel(
            f"the model at {directory} has no {flavor_name!r} flavor (its flavors: {', '.join(metadata.flavors)})"
        )
    flavor = get_flavor(flavor_name)
    _check_files(directory, section)
    _check_version(flavor, section)
    with applied(policy):
        _add_code_path(directory, section)
        return flavor.load(directory, section)
