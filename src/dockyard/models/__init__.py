"""Models: the MLmodel format, flavors, signatures, requirements and model URIs.

A leaf package: it imports nothing of Dockyard but :mod:`dockyard.core`, and no ML library until a
flavor is used. Logging a model to a run lives above it (``dockyard.<flavor>.log_model``).

    import dockyard.models

    predictor = dockyard.models.load_model("runs:/<run_id>/model")
    predictor.predict(frame)

A model that runs code when it loads (a pickle, its ``code/``) needs ``allow_pickle=True``; see
:mod:`dockyard.models.safety`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ColSpec": "dockyard.models.signature",
    "Model": "dockyard.models.manifest",
    "ModelInfo": "dockyard.models.manifest",
    "ModelSignature": "dockyard.models.signature",
    "ModelUri": "dockyard.models.uris",
    "ModelVersionWarning": "dockyard.models.loading",
    "ParamSchema": "dockyard.models.signature",
    "ParamSpec": "dockyard.models.signature",
    "Predictor": "dockyard.models.loading",
    "PythonModel": "dockyard.models.flavors.pyfunc",
    "PythonModelContext": "dockyard.models.flavors.pyfunc",
    "Schema": "dockyard.models.signature",
    "TensorSpec": "dockyard.models.signature",
    "flavor_names": "dockyard.models.flavors",
    "infer_signature": "dockyard.models.infer",
    "load_model": "dockyard.models.loading",
    "parse_model_uri": "dockyard.models.uris",
    "resolve_model_uri": "dockyard.models.uris",
    "save_model": "dockyard.models.saving",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dockyard.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from dockyard.models.flavors import flavor_names as flavor_names
    from dockyard.models.flavors.pyfunc import PythonModel as PythonModel
    from dockyard.models.flavors.pyfunc import PythonModelContext as PythonModelContext
    from dockyard.models.infer import infer_signature as infer_signature
    from dockyard.models.loading import ModelVersionWarning as ModelVersionWarning
    from dockyard.models.loading import Predictor as Predictor
    from dockyard.models.loading import load_model as load_model
    from dockyard.models.manifest import Model as Model
    from dockyard.models.manifest import ModelInfo as ModelInfo
    from dockyard.models.saving import save_model as save_model
    from dockyard.models.signature import ColSpec as ColSpec
    from dockyard.models.signature import ModelSignature as ModelSignature
    from dockyard.models.signature import ParamSchema as ParamSchema
    from dockyard.models.signature import ParamSpec as ParamSpec
    from dockyard.models.signature import Schema as Schema
    from dockyard.models.signature import TensorSpec as TensorSpec
    from dockyard.models.uris import ModelUri as ModelUri
    from dockyard.models.uris import parse_model_uri as parse_model_uri
    from dockyard.models.uris import resolve_model_uri as resolve_model_uri
