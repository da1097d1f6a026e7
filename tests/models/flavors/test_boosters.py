"""XGBoost and LightGBM: boosters and scikit-learn-API models."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
import yaml

import dockyard.lightgbm
import dockyard.xgboost
from dockyard.models import load_model


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.random((120, 3)), columns=["a", "b", "c"])
    return X, (X.a > 0.5).astype(int)


def test_xgboost_classifier(tmp_path: Path, data: tuple) -> None:
    X, y = data
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    info = dockyard.xgboost.save_model(model, tmp_path / "m", input_example=X.head(2))
    section = info.flavors["xgboost"]
    assert section["model_class"] == "xgboost.sklearn.XGBClassifier" and section["data"] == "model.ubj"
    native = dockyard.xgboost.load_model(tmp_path / "m")
    assert isinstance(native, xgb.XGBClassifier)
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(X), model.predict(X))


def test_xgboost_booster(tmp_path: Path, data: tuple) -> None:
    X, y = data
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, y), 3)
    info = dockyard.xgboost.save_model(booster, tmp_path / "m", input_example=X.head(2))
    assert info.signature is not None and info.signature.outputs is not None  # predicted through a DMatrix
    assert isinstance(dockyard.xgboost.load_model(tmp_path / "m"), xgb.Booster)
    np.testing.assert_allclose(load_model(tmp_path / "m").predict(X), booster.predict(xgb.DMatrix(X)))


def test_lightgbm_classifier(tmp_path: Path, data: tuple) -> None:
    X, y = data
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    dockyard.lightgbm.save_model(model, tmp_path / "m", input_example=X.head(2))
    section = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]["lightgbm"]
    assert section["data"] == "model.skops" and section["model_class"] == "lightgbm.sklearn.LGBMClassifier"
    assert isinstance(dockyard.lightgbm.load_model(tmp_path / "m"), lgb.LGBMClassifier)
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(X), model.predict(X))


def test_lightgbm_booster(tmp_path: Path, data: tuple) -> None:
    X, y = data
    booster = lgb.train({"verbose": -1}, lgb.Dataset(X, y), 3)
    dockyard.lightgbm.save_model(booster, tmp_path / "m")
    assert (tmp_path / "m" / "model.lgb").is_file()
    np.testing.assert_allclose(load_model(tmp_path / "m").predict(X), booster.predict(X))


def test_flavor_is_chosen_before_sklearn(tmp_path: Path, data: tuple) -> None:
    from dockyard.models import save_model

    X, y = data
    model = xgb.XGBRegressor(n_estimators=2).fit(X, y)
    assert set(save_model(model, tmp_path / "m").flavors) == {"xgboost", "python_function"}
