"""Custom Python models: a :class:`PythonModel` subclass (or a plain function), its artifacts and code.

The layout is MLflow's: ``python_model.pkl`` (cloudpickle), ``artifacts/<file>`` for each named
artifact, ``code/`` for ``code_paths``, and only a ``python_function`` section with
``loader_module: mlflow.pyfunc.model``. MLflow loads such a model when Dockyard is installed beside it
(the pickle refers to Dockyard's base class), and Dockyard loads MLflow's when MLflow is installed.
Loading one runs its code (the pickle, ``code/``), so it needs the caller's opt-in (``allow_pickle=True``;
see :mod:`dockyard.models.safety`).

    class AddN(PythonModel):
        def load_context(self, context):
            self.n = int(open(context.artifacts["n"]).read())

        def predict(self, context, model_input, params=None):
            return model_input + self.n
"""

from __future__ import annotations

import inspect
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidModel, InvalidParameter, MissingExtra
from dockyard.models.flavors import Loaded, SavedFlavor, module_names


@dataclass
class PythonModelContext:
    """What ``load_context`` gets: local paths of the model's artifacts, and its config."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _TypeHints:
    input: Any = None
    output: Any = None


class PythonModel:
    """Base class of custom models: override ``predict`` (and ``load_context`` to read artifacts)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, with the model's artifacts; the place to open files."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("a PythonModel must implement predict(context, model_input, params=None)")

    @property
    def predict_type_hints(self) -> _TypeHints:
        # MLflow's loader reads this attribute; Dockyard models declare their types with a signature.
        return _TypeHints()


class FunctionModel(PythonModel):
    """A plain ``predict(model_input)`` function as a model."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self.fn(model_input)


class PythonModelFlavor:
    name = "python_function"
    loader_module = "mlflow.pyfunc.model"
    package = "cloudpickle"
    version_key = "cloudpickle_version"
    priority = -10

    def handles(self, obj: Any) -> bool:
        if isinstance(obj, PythonModel):
            return True
        return "mlflow.pyfunc.model" in module_names(obj) and callable(getattr(obj, "predict", None))

    def save(
        self,
        obj: Any,
        directory: Path,
        *,
        artifacts: dict[str, str | os.PathLike[str]] | None = None,
        model_config: dict[str, Any] | None = None,
        **_: Any,
    ) -> SavedFlavor:
        try:
            import cloudpickle
        except ImportError as exc:
            raise MissingExtra("cloudpickle", "sklearn") from exc
        from dockyard.models.requirements import installed_version

        saved_artifacts: dict[str, dict[str, str]] = {}
        for name, source in (artifacts or {}).items():
            path = Path(source)
            if not path.exists():
                raise InvalidParameter(f"artifacts[{name!r}]: {str(source)!r} does not exist (give a local path)")
            target = directory / "artifacts" / path.name
            target.parent.mkdir(exist_ok=True)
            if target.exists():
                raise InvalidParameter(f"artifacts[{name!r}]: two artifacts share the file name {path.name!r}")
            if path.is_dir():
                shutil.copytree(path, target)
            else:
                shutil.copy2(path, target)
            saved_artifacts[str(name)] = {"path": f"artifacts/{path.name}", "uri": str(source)}
        with (directory / "python_model.pkl").open("wb") as fh:
            cloudpickle.dump(obj, fh)
        pyfunc: dict[str, Any] = {
            "loader_module": self.loader_module,
            "python_model": "python_model.pkl",
            "cloudpickle_version": installed_version("cloudpickle"),
            "artifacts": saved_artifacts,
            "streamable": False,
        }
        if model_config:
            pyfunc["config"] = dict(model_config)
        # The pickle refers to Dockyard's PythonModel: loading it imports Dockyard (pinned like the rest).
        return SavedFlavor({}, pyfunc, ["cloudpickle", "dockyard"])

    def load(self, directory: Path, section: dict[str, Any]) -> Any:
        path = directory / str(section.get("python_model", "python_model.pkl"))
        from dockyard.models.flavors.serialization import pickle_load

        try:
            python_model = pickle_load(path, "a pickle (a custom Python model, cloudpickle)")
        except ModuleNotFoundError as exc:
            raise InvalidModel(
                f"{path.name} needs the module {exc.name!r} to load (a model logged by MLflow needs mlflow installed)"
            ) from exc
        context = PythonModelContext(
            {name: str(directory / info["path"]) for name, info in (section.get("artifacts") or {}).items()},
            dict(section.get("config") or {}),
        )
        python_model.load_context(context)
        return python_model, context

    def predictor(self, directory: Path, pyfunc: dict[str, Any], model: Any) -> Loaded:
        python_model, context = self.load(directory, pyfunc)
        parameters = inspect.signature(python_model.predict).parameters
        takes_params = "params" in parameters
        positional = [
            p
            for name, p in parameters.items()
            if name != "params" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        takes_context = "context" in parameters or len(positional) >= 2

        def predict(data: Any, params: dict[str, Any] | None = None) -> Any:
            args = (context, data) if takes_context else (data,)
            return python_model.predict(*args, params=params) if takes_params else python_model.predict(*args)

        return Loaded(python_model, predict)


FLAVOR = PythonModelFlavor()
