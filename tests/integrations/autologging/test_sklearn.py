"""scikit-learn autologging: params, training metrics, model, dataset; no recursion; disable restores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

import dockyard
import dockyard.models
import dockyard.sklearn
from dockyard.integrations.autologging import AutologWarning, patching
from dockyard.tracking.entities import RunStatus

CLASSIFIER_METRICS = {
    "training_accuracy_score",
    "training_precision_score",
    "training_recall_score",
    "training_f1_score",
    "training_log_loss",
    "training_roc_auc",
    "training_score",
}


@pytest.fixture
def frame() -> tuple[pd.DataFrame, pd.Series]:
    x, y = make_classification(n_samples=120, n_features=4, random_state=0)
    return pd.DataFrame(x, columns=["a", "b", "c", "d"]), pd.Series(y, name="label")


def test_fit_starts_a_run_and_logs_params_metrics_model_and_dataset(only_run, store: Path, frame) -> None:  # type: ignore[no-untyped-def]
    x, y = frame
    dockyard.autolog()
    model = LogisticRegression(C=0.5, max_iter=300).fit(x, y)
    assert dockyard.active_run() is None  # the run autolog started is ended
    run = only_run()
    assert run.info.status is RunStatus.FINISHED
    assert run.data.params["C"] == "0.5" and run.data.params["max_iter"] == "300"
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(model.score(x, y))
    assert run.data.metrics["training_score"] == pytest.approx(model.score(x, y))
    # The training data, with its digest and the target column.
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.tags["mlflow.data.context"] == "train"
    assert (
        dataset_input.dataset.digest
        == dockyard.data.from_pandas(x.assign(label=y.to_numpy()), name="dataset", targets="label").digest
    )
    assert json.loads(dataset_input.dataset.profile)["targets"] == "label"
    # The model, with a signature and the first rows as input example.
    client = dockyard.Client(str(store))
    (logged,) = client.search_logged_models([run.info.experiment_id]).items
    loaded = dockyard.models.load_model(f"models:/{logged.model_id}")
    assert [c.name for c in loaded.metadata.signature.inputs] == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(loaded.predict(x.iloc[:10]), model.predict(x.iloc[:10]))
    assert loaded.metadata.saved_input_example_info is not None


def test_regressor_metrics_and_an_active_run_is_used(only_run, store: Path) -> None:
    x, y = make_regression(n_samples=80, n_features=3, noise=0.1, random_state=0)
    dockyard.autolog(log_models=False, log_datasets=False)
    with dockyard.start_run() as run:
        LinearRegression().fit(x, y)
        assert dockyard.active_run() is not None
    stored = only_run()
    assert stored.info.run_id == run.info.run_id
    assert set(stored.data.metrics) == {
        "training_mean_squared_error",
        "training_root_mean_squared_error",
        "training_mean_absolute_error",
        "training_r2_score",
        "training_score",
    }
    assert stored.data.metrics["training_root_mean_squared_error"] == pytest.approx(
        stored.data.metrics["training_mean_squared_error"] ** 0.5
    )
    assert len(stored.inputs.dataset_inputs) == 0
    assert dockyard.Client(str(store)).search_logged_models([stored.info.experiment_id]).items == []


def test_pipeline_logs_once_with_the_deep_params(only_run, store: Path, frame) -> None:  # type: ignore[no-untyped-def]
    x, y = frame
    x = x.assign(kind=["u", "v", "w"] * 40)
    dockyard.autolog(log_models=False)
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [("num", StandardScaler(), ["a", "b", "c", "d"]), ("cat", OneHotEncoder(), ["kind"])]
                ),
            ),
            ("clf", DecisionTreeClassifier(max_depth=3, random_state=0)),
        ]
    )
    pipeline.fit(x, y)
    run = only_run()  # one run: the steps' fits were not logged on their own
    assert run.data.params["clf__max_depth"] == "3"
    assert "prep__num__with_mean" in run.data.params
    assert "training_accuracy_score" in run.data.metrics


def test_grid_search_logs_the_best(only_run, store: Path, frame) -> None:  # type: ignore[no-untyped-def]
    x, y = frame
    dockyard.autolog(log_models=False, log_datasets=False)
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 4]}, cv=3).fit(x, y)
    run = only_run()
    assert run.data.params["best_max_depth"] == str(search.best_params_["max_depth"])
    assert run.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert run.data.params["estimator"].startswith("DecisionTreeClassifier")


def test_disable_restores_the_original_fit(only_run, store: Path, frame) -> None:  # type: ignore[no-untyped-def]
    original = LogisticRegression.__dict__["fit"]
    dockyard.autolog()
    assert LogisticRegression.__dict__["fit"] is not original
    assert LogisticRegression.__dict__["fit"].__wrapped__ is original
    dockyard.autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is original
    assert patching.patched_names("sklearn") == []
    LogisticRegression().fit(*frame)
    assert dockyard.Client(str(store)).search_runs(["0"]).items == []


def test_enabling_twice_patches_once(only_run, store: Path, frame) -> None:  # type: ignore[no-untyped-def]
    dockyard.sklearn.autolog(log_models=False)
    dockyard.sklearn.autolog(log_models=False)
    LogisticRegression().fit(*frame)
    run = only_run()
    assert run.data.metrics["training_score"] > 0.5


def test_a_failing_fit_fails_its_run(only_run, store: Path) -> None:
    dockyard.autolog(log_models=False)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(np.zeros((4, 2)), np.zeros(4))  # one class only
    assert only_run().info.status is RunStatus.FAILED


def test_params_already_in_the_run_with_other_values_are_kept_with_a_warning(only_run, store: Path, frame) -> None:  # type: ignore[no-untyped-def]
    dockyard.autolog(log_models=False, log_datasets=False)
    with dockyard.start_run():
        LogisticRegression(C=1.0).fit(*frame)
        with pytest.warns(AutologWarning, match=r"\['C'\]"):
            LogisticRegression(C=2.0).fit(*frame)
    assert only_run().data.params["C"] == "1.0"


def test_silent_and_metrics_that_do_not_apply(only_run, store: Path) -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 1, 2, 2])  # a class with one sample: fine for the metrics
    dockyard.autolog(log_models=False, silent=True)
    DecisionTreeClassifier().fit(x, y)
    run = only_run()
    assert "training_accuracy_score" in run.data.metrics
    assert run.inputs.dataset_inputs[0].dataset.schema.startswith('{"mlflow_tensorspec"')
