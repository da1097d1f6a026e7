"""Dockyard: experiment tracking, a model registry, packaging and serving; speaks the MLflow REST API.

``import dockyard`` is cheap: it imports no database, web or ML library. The fluent API is loaded on
first use::

    import dockyard

    with dockyard.start_run():
        dockyard.log_metric("loss", 0.25)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dockyard.__about__ import __version__ as __version__

# Public name -> module that defines it. A test keeps this, __all__ and the docs in step.
_EXPORTS: dict[str, str] = {
    name: "dockyard.lifecycle.fluent"
    for name in (
        "ActiveRun",
        "active_run",
        "create_experiment",
        "delete_experiment",
        "delete_run",
        "delete_tag",
        "end_run",
        "flush",
        "get_artifact_uri",
        "get_experiment",
        "get_experiment_by_name",
        "get_run",
        "get_tracking_uri",
        "last_active_run",
        "list_artifacts",
        "load_table",
        "log_artifact",
        "log_artifacts",
        "log_dict",
        "log_figure",
        "log_image",
        "log_input",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "log_table",
        "log_text",
        "search_experiments",
        "search_runs",
        "set_experiment",
        "set_tag",
        "set_tags",
        "set_tracking_uri",
        "start_run",
    )
}
_EXPORTS.update(
    {
        "Client": "dockyard.lifecycle.client",
        "MlflowClient": "dockyard.lifecycle.client",
        "Settings": "dockyard.core.config",
        "Dataset": "dockyard.tracking.entities",
        "Experiment": "dockyard.tracking.entities",
        "Metric": "dockyard.tracking.entities",
        "Param": "dockyard.tracking.entities",
        "Run": "dockyard.tracking.entities",
        "RunTag": "dockyard.tracking.entities",
        "RunStatus": "dockyard.tracking.entities",
        "errors": "dockyard.errors",
        "data": "dockyard.tracking.datasets",
        "register_model": "dockyard.lifecycle.model_logging",
        # Model delivery: validation recorded for the registry's gates, and mlflow.evaluate's twin.
        "validate": "dockyard.delivery.validation",
        "evaluate": "dockyard.delivery.evaluation",
        # MLflow's mlflow.artifacts and mlflow.entities modules.
        "artifacts": "dockyard.artifacts",
        "entities": "dockyard.entities",
        "autolog": "dockyard.integrations.autologging",
        "datasets": "dockyard.datasets",
        "optuna": "dockyard.optuna",
        # Model modules, as MLflow's mlflow.sklearn etc.: importing dockyard does not import them.
        "models": "dockyard.models",
        "sklearn": "dockyard.sklearn",
        "xgboost": "dockyard.xgboost",
        "lightgbm": "dockyard.lightgbm",
        "onnx": "dockyard.onnx",
        "pytorch": "dockyard.pytorch",
        "pyfunc": "dockyard.pyfunc",
        # Batch scoring on Spark; PySpark is imported when it is called, not when it is looked up.
        "spark_udf": "dockyard.integrations.spark",
    }
)

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'dockyard' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.rsplit(".", 1)[-1] == name or name in ("errors", "data") else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from dockyard import artifacts as artifacts
    from dockyard import datasets as datasets
    from dockyard import entities as entities
    from dockyard import errors as errors
    from dockyard import optuna as optuna
    from dockyard.core.config import Settings as Settings
    from dockyard.delivery.evaluation import evaluate as evaluate
    from dockyard.delivery.validation import validate as validate
    from dockyard.integrations.autologging import autolog as autolog
    from dockyard.integrations.spark import spark_udf as spark_udf
    from dockyard.lifecycle.client import Client as Client
    from dockyard.lifecycle.client import MlflowClient as MlflowClient
    from dockyard.lifecycle.fluent import *  # noqa: F403  # type: ignore[assignment]
    from dockyard.tracking import datasets as data  # noqa: F401
    from dockyard.tracking.entities import (
        Dataset as Dataset,
    )
    from dockyard.tracking.entities import (
        Experiment as Experiment,
    )
    from dockyard.tracking.entities import (
        Metric as Metric,
    )
    from dockyard.tracking.entities import (
        Param as Param,
    )
    from dockyard.tracking.entities import (
        Run as Run,
    )
    from dockyard.tracking.entities import (
        RunStatus as RunStatus,
    )
    from dockyard.tracking.entities import (
        RunTag as RunTag,
    )
