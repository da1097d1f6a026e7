"""XGBoost and LightGBM autologging: native train and the scikit-learn API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import dockyard
import dockyard.lightgbm
import dockyard.models
import dockyard.xgboost

lightgbm = pytest.importorskip("lightgbm")
xgboost = pytest.importorskip("xgboost")


@pytest.fixture
def data() -> tuple[pd.DataFrame, np.ndarray]:
    x, y = make_classification(n_samples=200, n_features=5, random_state=1)
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(5)]), y


def logged_model_uri(store: Path, run: dockyard.Run) -> str:
    (logged,) = dockyard.Client(str(store)).search_logged_models([run.info.experiment_id]).items
    assert logged.source_run_id == run.info.run_id
    return f"models:/{logged.model_id}"


def test_xgboost_sklearn_api(only_run, store: Path, data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    dockyard.autolog()
    model = xgboost.XGBClassifier(n_estimators=7, max_depth=2).fit(x, y, eval_set=[(x, y)], verbose=False)
    run = only_run()  # XGBClassifier.fit calls xgboost's train: still one run
    assert run.data.params["n_estimators"] == "7" and run.data.params["max_depth"] == "2"
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(model.score(x, y))
    history = dockyard.Client(str(store)).get_metric_history(run.info.run_id, "validation_0-logloss")
    assert [m.step for m in history] == list(range(7))
    assert history[-1].value < history[0].value
    assert len(run.inputs.dataset_inputs) == 1
    loaded = dockyard.xgboost.load_model(logged_model_uri(store, run))
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x), rtol=1e-6)


def test_xgboost_native_train(only_run, store: Path, data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    dockyard.xgboost.autolog()
    dtrain = xgboost.DMatrix(x, label=y)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3}
    booster = xgboost.train(params, dtrain, num_boost_round=5, evals=[(dtrain, "train")])
    run = only_run()
    assert run.data.params["max_depth"] == "3" and run.data.params["num_boost_round"] == "5"
    history = dockyard.Client(str(store)).get_metric_history(run.info.run_id, "train-logloss")
    assert len(history) == 5
    loaded = dockyard.xgboost.load_model(logged_model_uri(store, run))
    np.testing.assert_allclose(loaded.predict(dtrain), booster.predict(dtrain), rtol=1e-6)


def test_xgboost_evals_result_given_by_the_caller_is_filled(only_run, store: Path, data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    dockyard.autolog(log_models=False)
    dtrain = xgboost.DMatrix(x, label=y)
    mine: dict[str, dict[str, list[float]]] = {}
    xgboost.train(
        {"objective": "binary:logistic"}, dtrain, 3, evals=[(dtrain, "t")], evals_result=mine, verbose_eval=False
    )
    assert len(mine["t"]["logloss"]) == 3
    assert "t-logloss" in only_run().data.metrics


# LightGBM 4.7 deprecates eval_set for eval_X/eval_y; eval_set works on every 4.x.
@pytest.mark.filterwarnings("ignore:The argument 'eval_set' is deprecated:lightgbm.basic.LGBMDeprecationWarning")
def test_lightgbm_sklearn_api(only_run, store: Path, data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    dockyard.autolog()
    model = lightgbm.LGBMClassifier(n_estimators=6, num_leaves=7, verbose=-1).fit(
        x, y, eval_set=[(x, y)], eval_names=["valid"]
    )
    run = only_run()
    assert run.data.params["num_leaves"] == "7"
    assert run.data.metrics["training_roc_auc"] > 0.5
    history = dockyard.Client(str(store)).get_metric_history(run.info.run_id, "valid-binary_logloss")
    assert [m.step for m in history] == list(range(6))
    loaded = dockyard.models.load_model(logged_model_uri(store, run))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_lightgbm_native_train(only_run, store: Path, data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    dockyard.lightgbm.autolog()
    train_set = lightgbm.Dataset(x, label=y)
    callbacks_before: list[object] = []
    booster = lightgbm.train(
        {"objective": "binary", "num_leaves": 5, "verbose": -1},
        train_set,
        num_boost_round=4,
        valid_sets=[train_set],
        valid_names=["train"],
        callbacks=callbacks_before,
    )
    assert callbacks_before == []  # the caller's list is not modified
    run = only_run()
    assert run.data.params["num_leaves"] == "5" and run.data.params["num_boost_round"] == "4"
    assert len(dockyard.Client(str(store)).get_metric_history(run.info.run_id, "train-binary_logloss")) == 4
    loaded = dockyard.lightgbm.load_model(logged_model_uri(store, run))
    np.testing.assert_allclose(loaded.predict(x), booster.predict(x))


def test_boosters_inside_a_pipeline_log_once(only_run, store: Path, data) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    dockyard.autolog(log_models=False)
    make_pipeline(StandardScaler(), lightgbm.LGBMClassifier(n_estimators=3, verbose=-1)).fit(x, y)
    run = only_run()
    assert run.data.params["lgbmclassifier__n_estimators"] == "3"
    assert "n_estimators" not in run.data.params  # the booster's own fit was not logged


def test_disable_restores_xgboost_and_lightgbm(store: Path) -> None:
    originals = (
        xgboost.train,
        xgboost.XGBClassifier.__dict__["fit"],
        lightgbm.train,
        lightgbm.LGBMRegressor.__dict__["fit"],
    )
    assert set(dockyard.autolog()) == {"sklearn", "xgboost", "lightgbm"}
    assert xgboost.train is not originals[0] and lightgbm.train is not originals[2]
    dockyard.autolog(disable=True)
    assert (
        xgboost.train,
        xgboost.XGBClassifier.__dict__["fit"],
        lightgbm.train,
        lightgbm.LGBMRegressor.__dict__["fit"],
    ) == originals
