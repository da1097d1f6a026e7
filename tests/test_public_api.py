from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import dockyard

HEAVY = (
    "sqlalchemy",
    "alembic",
    "starlette",
    "fastapi",
    "uvicorn",
    "pandas",
    "numpy",
    "sklearn",
    "torch",
    "boto3",
    "click",
    "rich",
    "yaml",
    "matplotlib",
    "plotly",
    "httpx",
)


def test_all_lists_exactly_the_public_names() -> None:
    expected = {
        "ActiveRun",
        "Client",
        "MlflowClient",
        "Dataset",
        "Experiment",
        "Metric",
        "Param",
        "Run",
        "RunStatus",
        "RunTag",
        "Settings",
        "__version__",
        "active_run",
        "create_experiment",
        "data",
        "delete_experiment",
        "delete_run",
        "delete_tag",
        "end_run",
        "errors",
        "flush",
        "get_artifact_uri",
        "get_experiment",
        "get_experiment_by_name",
        "get_run",
        "get_tracking_uri",
        "last_active_run",
        "list_artifacts",
        "load_table",
        "log_image",
        "log_table",
        "artifacts",
        "entities",
        "log_artifact",
        "log_artifacts",
        "log_dict",
        "log_figure",
        "log_input",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "log_text",
        "search_experiments",
        "search_runs",
        "set_experiment",
        "set_tag",
        "set_tags",
        "set_tracking_uri",
        "start_run",
        "register_model",
        "models",
        "sklearn",
        "xgboost",
        "lightgbm",
        "onnx",
        "pytorch",
        "pyfunc",
        "autolog",
        "datasets",
        "optuna",
        "spark_udf",
        "validate",
        "evaluate",
    }
    assert set(dockyard.__all__) == expected
    for name in dockyard.__all__:
        assert getattr(dockyard, name) is not None, name


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="not_a_thing"):
        dockyard.not_a_thing  # noqa: B018


def test_import_is_light() -> None:
    code = f"import sys, json, dockyard; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_model_modules_are_light_until_used() -> None:
    """Flavor modules and the models package import no ML library (nor yaml) until a model is used."""
    modules = "dockyard.models, dockyard.sklearn, dockyard.xgboost, dockyard.lightgbm, dockyard.onnx"
    code = (
        f"import sys, json, dockyard, {modules}, dockyard.pytorch, dockyard.pyfunc; "
        f"print(json.dumps([m for m in {HEAVY!r} + ('xgboost', 'lightgbm', 'onnx', 'skops') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
    import dockyard.sklearn as sk

    assert dockyard.sklearn is sk and dockyard.models.load_model is not None


def test_fluent_names_match_mlflow() -> None:
    """The fluent functions keep MLflow's names and leading parameters, so migrating is an import change."""
    import inspect

    expectations = {
        "log_metric": ["key", "value", "step", "timestamp", "synchronous"],
        "log_param": ["key", "value", "synchronous"],
        "log_metrics": ["metrics", "step", "timestamp", "synchronous"],
        "set_tag": ["key", "value", "synchronous"],
        "start_run": ["run_id", "experiment_id", "run_name", "nested", "tags", "description", "log_system_metrics"],
        "autolog": ["log_models", "log_input_examples", "log_datasets", "disable", "silent"],
        "log_artifact": ["local_path", "artifact_path"],
        "log_dict": ["dictionary", "artifact_file"],
        "log_text": ["text", "artifact_file"],
        "log_figure": ["figure", "artifact_file"],
        "set_experiment": ["experiment_name", "experiment_id"],
    }
    for name, params in expectations.items():
        assert list(inspect.signature(getattr(dockyard, name)).parameters)[: len(params)] == params, name


def test_issue_7_modules_are_light_until_used() -> None:
    """dockyard.demo.datasets, dockyard.integrations.optuna and dockyard.integrations.autologging
    import no ML library (nor optuna)."""
    code = (
        "import sys, json, dockyard.demo.datasets, dockyard.integrations.optuna, dockyard.integrations.autologging; "
        f"print(json.dumps([m for m in {HEAVY!r} + ('optuna', 'xgboost', 'lightgbm', 'psutil') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
    assert callable(dockyard.autolog) and importlib.import_module("dockyard.integrations.optuna").optimize is not None
