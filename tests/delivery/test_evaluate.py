"""``dockyard.evaluate``: mlflow.evaluate's arguments, MLflow's metric names, thresholds that raise."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import dockyard
from dockyard.core.errors import InvalidParameter, ModelValidationFailed
from dockyard.delivery.evaluation import MetricThreshold, ModelValidationFailedException

from .conftest import encode, make_frame


@pytest.fixture
def frames(store: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = make_frame(1500, 1), make_frame(400, 2)
    return encode(train).assign(default=train["default"]), encode(test).assign(default=test["default"])


def test_a_classifier_gets_mlflows_metric_names_logged_to_a_run(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = frames
    model = LogisticRegression(max_iter=500).fit(train.drop(columns="default"), train["default"])
    result = dockyard.evaluate(model, test, targets="default", model_type="classifier", evaluators="default")
    assert {
        "accuracy_score",
        "precision_score",
        "recall_score",
        "f1_score",
        "roc_auc",
        "log_loss",
        "example_count",
    } <= set(result.metrics)
    assert result.metrics["example_count"] == 400 and result.metrics["roc_auc"] > 0.75
    logged = dockyard.get_run(result.run_id).data.metrics
    assert logged["accuracy_score"] == pytest.approx(result.metrics["accuracy_score"])


def test_thresholds_pass_or_raise_naming_the_metric(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = frames
    x = train.drop(columns="default")
    good = LogisticRegression(max_iter=500).fit(x, train["default"])
    shuffled = train["default"].sample(frac=1.0, random_state=3).to_numpy()
    weak = LogisticRegression(max_iter=500).fit(x, shuffled)
    ok = {"roc_auc": MetricThreshold(threshold=0.75, greater_is_better=True)}
    assert dockyard.evaluate(good, test, targets="default", model_type="classifier", validation_thresholds=ok).metrics
    relative = {"roc_auc": MetricThreshold(min_absolute_change=0.0, greater_is_better=True)}
    with pytest.raises(ModelValidationFailedException, match=r"roc_auc value 0\.\d+ fails 'roc_auc >= baseline \+ 0'"):
        dockyard.evaluate(
            weak, test, targets="default", model_type="classifier", validation_thresholds=relative, baseline_model=good
        )
    assert ModelValidationFailedException is ModelValidationFailed
    with pytest.raises(InvalidParameter, match="needs a baseline_model"):
        dockyard.evaluate(good, test, targets="default", model_type="classifier", validation_thresholds=relative)


def test_a_regressor_and_bad_arguments(store: str) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [2.0, 4.1, 5.9, 8.0, 10.1]})
    model = LinearRegression().fit(frame[["a"]], frame["y"])
    result = dockyard.evaluate(model, frame, targets="y", model_type="regressor")
    assert result.metrics["root_mean_squared_error"] < 0.2 and result.metrics["r2_score"] > 0.99
    with pytest.raises(InvalidParameter, match="model_type"):
        dockyard.evaluate(model, frame, targets="y")
    with pytest.raises(InvalidParameter, match="targets: no column 'z'"):
        dockyard.evaluate(model, frame, targets="z", model_type="regressor")
    with pytest.raises(InvalidParameter, match="evaluators"):
        dockyard.evaluate(model, frame, targets="y", model_type="regressor", evaluators=["shap"])
