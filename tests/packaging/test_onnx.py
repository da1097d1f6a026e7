"""``--onnx``: conversion of scikit-learn, XGBoost and LightGBM models, the agreement check, refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dockyard
import dockyard.pyfunc
import dockyard.sklearn
from dockyard.core.errors import InvalidModel
from dockyard.packaging import PackageOptions, package_model


def _package(source: Path, output: Path, **options: Any) -> Any:
    client = dockyard.Client(str(output.parent / "store.db"))
    try:
        return package_model(str(source), PackageOptions(output, onnx=True, **options), client=client)
    finally:
        client.close()


def _no_staging(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def _in_process(bundle: Path, frame: pd.DataFrame) -> list[Any]:
    from starlette.testclient import TestClient

    from dockyard.serving.bundle import build_app

    with TestClient(build_app(str(bundle))) as http:
        body = {"dataframe_split": {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}}
        answer = http.post("/invocations", json=body)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["predictions"])


def test_a_scikit_learn_classifier_becomes_an_onnx_bundle_that_answers_alike(tmp_path: Path, kit: Any) -> None:
    frame, _ = kit.training_data()
    source = tmp_path / "model"
    dockyard.sklearn.save_model(kit.classifier(), source, input_example=frame.head(5))
    bundle = _package(source, tmp_path / "bundle")
    assert any(n.startswith("ONNX check: the input example and 1000 generated rows") for n in bundle.notes)
    model_dir = tmp_path / "bundle" / "model"
    assert (model_dir / "model.onnx").is_file() and not (model_dir / "model.skops").exists()
    mlmodel = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert set(mlmodel["mlmodel"]["flavors"]) == {"onnx", "python_function"}
    assert mlmodel["model"]["converted_from"]["flavor"] == "sklearn"
    names = bundle.pins.names
    assert "onnxruntime" in names and not {"scikit-learn", "scipy", "pandas", "onnx", "skops"} & set(names)
    rows = frame.sample(30, random_state=1)
    expected = dockyard.models.load_model(source).predict(rows)
    assert _in_process(tmp_path / "bundle", rows) == expected.tolist()


def test_a_regressor_in_a_pipeline_converts(tmp_path: Path, kit: Any) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, labels = kit.training_data()
    model = make_pipeline(StandardScaler(), Ridge()).fit(frame, labels.astype(float) * 3.5)
    dockyard.sklearn.save_model(model, tmp_path / "model", input_example=frame.head(5))
    bundle = _package(tmp_path / "model", tmp_path / "bundle")
    assert bundle.pins.names.count("onnxruntime") == 1
    rows = frame.head(10)
    np.testing.assert_allclose(_in_process(tmp_path / "bundle", rows), model.predict(rows), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_xgboost_and_lightgbm_classifiers_convert(tmp_path: Path, kit: Any, library: str) -> None:
    frame, labels = kit.training_data()
    if library == "xgboost":
        import xgboost

        import dockyard.xgboost as flavor

        model: Any = xgboost.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1).fit(frame, labels)
    else:
        import lightgbm

        import dockyard.lightgbm as flavor  # type: ignore[no-redef]

        model = lightgbm.LGBMClassifier(n_estimators=15, num_leaves=7, n_jobs=1, verbose=-1).fit(frame, labels)
    flavor.save_model(model, tmp_path / "model", input_example=frame.head(5))
    bundle = _package(tmp_path / "model", tmp_path / "bundle")
    assert "onnxruntime" in bundle.pins.names and library not in bundle.pins.names
    rows = frame.head(20)
    assert _in_process(tmp_path / "bundle", rows) == model.predict(rows).tolist()


def test_a_model_whose_onnx_answers_differ_is_refused_with_the_largest_difference(tmp_path: Path, kit: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    frame, labels = kit.training_data()
    dockyard.sklearn.save_model(
        LogisticRegression().fit(frame, labels), tmp_path / "model", input_example=frame.head(3)
    )
    # float32 arithmetic differs from float64 in the last digits: no tolerance at all refuses it.
    with pytest.raises(InvalidModel, match=r"probabilities \(largest difference [0-9.e-]+\) differ") as refused:
        _package(tmp_path / "model", tmp_path / "bundle", onnx_rtol=0.0, onnx_atol=0.0)
    message = refused.value.message
    assert "row " in message and "(ONNX) vs" in message and "'f0':" in message
    assert not (tmp_path / "bundle").exists() and _no_staging(tmp_path)


def test_a_flavor_that_cannot_convert_is_refused(tmp_path: Path) -> None:
    class Doubler(dockyard.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return model_input * 2

    dockyard.pyfunc.save_model(tmp_path / "model", python_model=Doubler())
    with pytest.raises(InvalidModel, match=r"--onnx: a python_function model cannot be converted to ONNX"):
        _package(tmp_path / "model", tmp_path / "bundle", allow_pickle=True)
    assert not (tmp_path / "bundle").exists() and _no_staging(tmp_path)


def test_text_columns_are_refused(tmp_path: Path) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"city": ["a", "b", "a", "c"] * 10, "x": np.arange(40.0)})
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["city"]), remainder="passthrough"), LogisticRegression()
    ).fit(frame, [0, 1] * 20)
    dockyard.sklearn.save_model(
        model, tmp_path / "model", input_example=frame.head(3), serialization_format="cloudpickle"
    )
    with pytest.raises(InvalidModel, match=r"input columns are all numeric; column 'city' is string"):
        _package(tmp_path / "model", tmp_path / "bundle", allow_pickle=True)


def test_a_model_mlflow_logged_converts_the_same_way(tmp_path: Path, kit: Any) -> None:
    import warnings

    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    frame, labels = kit.training_data()
    model = LogisticRegression().fit(frame, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's warnings about its own environment are not under test
        mlflow.sklearn.save_model(model, str(tmp_path / "model"), input_example=frame.head(3), pip_requirements=[])
    bundle = _package(tmp_path / "model", tmp_path / "bundle")
    assert "scikit-learn" not in bundle.pins.names and "mlflow" not in bundle.pins.names
    rows = frame.head(20)
    assert _in_process(tmp_path / "bundle", rows) == model.predict(rows).tolist()
