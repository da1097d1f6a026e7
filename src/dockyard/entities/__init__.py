"""``dockyard.entities``: the tracking entities where MLflow users find them (``mlflow.entities``).

A facade: it re-exports, and holds no logic. The registry's entities are in
:mod:`dockyard.entities.model_registry` (``mlflow.entities.model_registry``).

>>> from dockyard.entities import Run, RunStatus
>>> RunStatus.FINISHED.value
'FINISHED'
"""

from dockyard.artifacts.base import FileInfo
from dockyard.tracking.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelStatus",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]
