"""``dockyard.pyfunc``: custom Python models, and loading any model as a predictor (``mlflow.pyfunc``).

    import dockyard
    import dockyard.pyfunc


    class Doubler(dockyard.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input * 2


    with dockyard.start_run():
        info = dockyard.pyfunc.log_model(name="doubler", python_model=Doubler())
    # A custom model is a pickle: loading it runs code, so it needs the opt-in (docs/models.md).
    dockyard.pyfunc.load_model(info.model_uri, allow_pickle=True).predict(...)

See ``docs/models.md``.
"""

from __future__ import annotations

import os
from typing import Any

from dockyard.lifecycle.model_logging import FlavorAPI
from dockyard.lifecycle.model_logging import load_model as load_model
from dockyard.models.flavors.pyfunc import PythonModel, PythonModelContext
from dockyard.models.manifest import ModelInfo

FLAVOR_NAME = "python_function"

_api = FlavorAPI(FLAVOR_NAME)


def _model(python_model: Any) -> Any:
    if python_model is None:
        raise TypeError("python_model is required: a PythonModel instance or a function")
    if not isinstance(python_model, PythonModel) and callable(python_model) and not hasattr(python_model, "predict"):
        from dockyard.models.flavors.pyfunc import FunctionModel

        return FunctionModel(python_model)
    return python_model


def save_model(
    path: str | os.PathLike[str],
    python_model: Any = None,
    artifacts: dict[str, str | os.PathLike[str]] | None = None,
    **options: Any,
) -> ModelInfo:
    """Save a custom model (a :class:`PythonModel` or a function) with its artifacts at ``path``."""
    return _api.save_model(_model(python_model), path, artifacts=artifacts, **options)


def log_model(
    name: str | None = None,
    python_model: Any = None,
    artifacts: dict[str, str | os.PathLike[str]] | None = None,
    **options: Any,
) -> ModelInfo:
    """Log a custom model from the active run as a logged model; returns its :class:`ModelInfo`."""
    return _api.log_model(_model(python_model), name, artifacts=artifacts, **options)


__all__ = ["FLAVOR_NAME", "PythonModel", "PythonModelContext", "load_model", "log_model", "save_model"]
