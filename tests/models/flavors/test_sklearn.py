from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import dockyard.sklearn
from dockyard.core.errors import InvalidParameter
from dockyard.models import load_model
from dockyard.models.requirements import pinned


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((200, 4)), columns=list("abcd"))
    return X, (X.a + X.b > 1).astype(int)


@pytest.fixture(scope="module")
def classifier(data: tuple[pd.DataFrame, pd.Series]) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=10).fit(*data)


@pytest.mark.parametrize("fmt", ["skops", "cloudpickle", "pickle"])
def test_round_trip(tmp_path: Path, data: tuple, classifier: HistGradientBoostingClassifier, fmt: str) -> None:
    X, _ = data
    dockyard.sklearn.save_model(classifier, tmp_path / "m", serialization_format=fmt, input_example=X.head(3))
    pickled = fmt != "skops"  # a pickle loads only with the opt-in; skops needs none
    native = dockyard.sklearn.load_model(tmp_path / "m", allow_pickle=pickled)
    assert type(native) is HistGradientBoostingClassifier
    np.testing.assert_array_equal(native.predict(X), classifier.predict(X))
    predictor = load_model(tmp_path / "m", allow_pickle=pickled)
    np.testing.assert_array_equal(predictor.predict(X), classifier.predict(X))
    section = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]["sklearn"]
    assert section["serialization_format"] == fmt
    assert section["sklearn_version"] == pinned("scikit-learn").split("==")[1]


def test_mlmodel_matches_what_mlflow_writes(tmp_path: Path, data: tuple, classifier: object) -> None:
    X, _ = data
    info = dockyard.sklearn.save_model(classifier, tmp_path / "m", input_example=X.head(3))
    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    pyfunc = mlmodel["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.sklearn"
    assert pyfunc["model_path"] == "model.skops" and pyfunc["predict_fn"] == "predict"
    assert pyfunc["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert mlmodel["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
    }
    assert info.signature is not None and info.signature.inputs is not None
    assert info.signature.inputs.names() == list("abcd")
    assert info.signature.outputs is not None and info.signature.outputs.specs[0].type == "long"
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert files == {
        "MLmodel",
        "model.skops",
        "requirements.txt",
        "python_env.yaml",
        "conda.yaml",
        "input_example.json",
        "serving_input_example.json",
    }


def test_requirements_are_exactly_what_loading_needs(tmp_path: Path, classifier: object) -> None:
    dockyard.sklearn.save_model(classifier, tmp_path / "skops")
    assert (tmp_path / "skops" / "requirements.txt").read_text().splitlines() == [
        pinned("numpy"),
        pinned("scikit-learn"),
        pinned("scipy"),
        pinned("skops"),
    ]
    dockyard.sklearn.save_model(classifier, tmp_path / "cp", serialization_format="cloudpickle")
    assert (tmp_path / "cp" / "requirements.txt").read_text().splitlines() == [
        pinned("cloudpickle"),
        pinned("numpy"),
        pinned("scikit-learn"),
        pinned("scipy"),
    ]


def test_pipeline_and_predict_fn(tmp_path: Path, data: tuple) -> None:
    X, y = data
    pipe = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=5)).fit(X, y)
    dockyard.sklearn.save_model(pipe, tmp_path / "m", predict_fn="predict_proba", input_example=X.head(2))
    proba = load_model(tmp_path / "m").predict(X.head(4))
    assert proba.shape == (4, 2)
    with pytest.raises(InvalidParameter, match="predict_fn 'transform'"):
        dockyard.sklearn.save_model(LinearRegression().fit(X, y), tmp_path / "n", predict_fn="transform")


def test_skops_trust_does_not_come_from_the_mlmodel(tmp_path: Path, data: tuple, classifier: object) -> None:
    """The types a model needs are trusted by Dockyard's list, not by what its MLmodel declares (MLflow's
    skops_trusted_types is still written, for MLflow's loader)."""
    X, _ = data
    dockyard.sklearn.save_model(classifier, tmp_path / "m")
    mlmodel = tmp_path / "m" / "MLmodel"
    text = yaml.safe_load(mlmodel.read_text())
    assert text["flavors"]["sklearn"]["skops_trusted_types"]  # HistGradientBoosting has a TreePredictor
    text["flavors"]["sklearn"]["skops_trusted_types"] = None
    mlmodel.write_text(yaml.safe_dump(text))
    np.testing.assert_array_equal(dockyard.sklearn.load_model(tmp_path / "m").predict(X), classifier.predict(X))
