"""``dockyard.entities.model_registry``: the registry's entities where MLflow users find them
(``mlflow.entities.model_registry``). A facade: it re-exports, and holds no logic.

>>> from dockyard.entities.model_registry import ModelVersion
>>> ModelVersion("churn", 3, 0, 0).version
3
"""

from dockyard.registry.entities import (
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegisteredModelAlias,
    Stage,
)

__all__ = ["ModelVersion", "ModelVersionStatus", "RegisteredModel", "RegisteredModelAlias", "Stage"]
