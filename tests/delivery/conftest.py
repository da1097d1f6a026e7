"""A local store with a registered classifier (good and degraded versions) and a regressor, trained on
synthetic data, for the validation and monitoring tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import dockyard
import dockyard.sklearn

FEATURES = ["income", "debt", "age", "region"]


def make_frame(n: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Loan-like rows: numeric features, a categorical region, and a label that depends on them."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50 + shift * 10, 10, n)
    debt = rng.gamma(2.0, 5.0, n)
    age = rng.integers(20, 70, n).astype("float64")
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    logit = 0.15 * (income - 50) - 0.2 * (debt - 10) + 0.02 * (age - 45) + np.where(region == "north", 0.5, 0.0)
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int64")
    return pd.DataFrame({"income": income, "debt": debt, "age": age, "region": region, "default": label})


def encode(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric model inputs: the region one-hot encoded (the models take numbers only)."""
    out = frame[["income", "debt", "age"]].copy()
    for name in ("north", "south", "east"):
        out[f"region_{name}"] = (frame["region"] == name).astype("float64")
    return out


@dataclass
class Registered:
    name: str
    store: str
    train: pd.DataFrame
    test_path: Path


@pytest.fixture
def store(tmp_path: Path) -> str:
    uri = str(tmp_path / "store.db")
    dockyard.set_tracking_uri(uri)
    return uri


@pytest.fixture
def churn(store: str, tmp_path: Path) -> Registered:
    """Model ``churn``: version 1 a good logistic regression, version 2 a degraded one (trained on shuffled
    labels), both logged with their training data; the test data in ``test.parquet`` (encoded, with labels)."""
    train = make_frame(2000, 1)
    test = make_frame(600, 2)
    x_train = encode(train)
    good = LogisticRegression(max_iter=500).fit(x_train, train["default"])
    rng = np.random.default_rng(3)
    bad = LogisticRegression(max_iter=500).fit(x_train, rng.permutation(train["default"].to_numpy()))
    for model in (good, bad):
        with dockyard.start_run():
            dockyard.sklearn.log_model(
                model, name="model", input_example=x_train.head(3), training_data=x_train, registered_model_name="churn"
            )
    path = tmp_path / "test.parquet"
    encode(test).assign(default=test["default"]).to_parquet(path)
    return Registered("churn", store, train, path)


@pytest.fixture
def regression(store: str, tmp_path: Path) -> tuple[str, Path]:
    rng = np.random.default_rng(5)
    x = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = 3 * x["a"] - 2 * x["b"] + rng.normal(scale=0.1, size=300)
    with dockyard.start_run():
        dockyard.sklearn.log_model(
            LinearRegression().fit(x, y), name="model", training_data=x, registered_model_name="price"
        )
    path = tmp_path / "price.csv"
    x.assign(price=y).to_csv(path, index=False)
    return "price", path
