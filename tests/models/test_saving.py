from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LinearRegression

from dockyard.core.errors import InvalidModel, InvalidParameter, UnsupportedModel
from dockyard.models import ModelVersionWarning, Predictor, load_model, save_model
from dockyard.models.flavors import flavor_names

X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 0.0]})
MODEL = LinearRegression().fit(X, [1.0, 2.0, 3.0])


def test_every_builtin_flavor_is_registered() -> None:
    assert {"sklearn", "xgboost", "lightgbm", "onnx", "pytorch", "python_function"} <= set(flavor_names())


def test_unsupported_object_lists_the_flavors(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModel, match=r"no flavor can save a builtins\.object; supported flavors: .*sklearn"):
        save_model(object(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_wrong_flavor_names_the_right_one(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModel, match=r"the xgboost flavor cannot save.*use dockyard\.sklearn"):
        save_model(MODEL, tmp_path / "m", flavor="xgboost")


def test_existing_target_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidParameter, match="already exists"):
        save_model(MODEL, tmp_path / "m")
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["keep.txt"]


def test_failed_save_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(InvalidParameter, match="code_paths"):
        save_model(MODEL, target / "m", code_paths=[tmp_path / "missing.py"])
    assert list(target.iterdir()) == []  # not even the staging directory


def test_bad_signature_argument(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="signature must be a ModelSignature"):
        save_model(MODEL, tmp_path / "m", signature="x")  # type: ignore[arg-type]


def test_signature_false_saves_none(tmp_path: Path) -> None:
    info = save_model(MODEL, tmp_path / "m", input_example=X, signature=False)
    assert info.signature is None and info.saved_input_example_info is not None
    assert "signature" not in yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())


def test_predictor_metadata(tmp_path: Path) -> None:
    save_model(MODEL, tmp_path / "m", input_example=X, metadata={"team": "risk"})
    predictor = load_model(tmp_path / "m")
    assert isinstance(predictor, Predictor) and predictor.flavor == "sklearn"
    assert predictor.metadata.metadata == {"team": "risk"}
    pd.testing.assert_frame_equal(predictor.input_example, X)
    np.testing.assert_allclose(predictor.predict(X[["b", "a"]]), MODEL.predict(X))


def test_missing_flavor_file_is_named(tmp_path: Path) -> None:
    save_model(MODEL, tmp_path / "m")
    (tmp_path / "m" / "model.skops").unlink()
    with pytest.raises(InvalidModel, match=r"missing file model\.skops"):
        load_model(tmp_path / "m")


def test_missing_input_example_file_is_named(tmp_path: Path) -> None:
    save_model(MODEL, tmp_path / "m", input_example=X)
    (tmp_path / "m" / "input_example.json").unlink()
    with pytest.raises(InvalidModel, match=r"missing file input_example\.json"):
        _ = load_model(tmp_path / "m").input_example


def test_unknown_loader_module(tmp_path: Path) -> None:
    save_model(MODEL, tmp_path / "m")
    path = tmp_path / "m" / "MLmodel"
    mlmodel = yaml.safe_load(path.read_text())
    mlmodel["flavors"]["python_function"]["loader_module"] = "mlflow.catboost"
    path.write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(InvalidModel, match=r"loader_module 'mlflow\.catboost'"):
        load_model(tmp_path / "m")


def test_model_without_pyfunc_flavor(tmp_path: Path) -> None:
    save_model(MODEL, tmp_path / "m")
    path = tmp_path / "m" / "MLmodel"
    mlmodel = yaml.safe_load(path.read_text())
    del mlmodel["flavors"]["python_function"]
    path.write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(InvalidModel, match="no python_function flavor"):
        load_model(tmp_path / "m")


def test_other_library_version_warns_with_both_versions(tmp_path: Path) -> None:
    save_model(MODEL, tmp_path / "m")
    path = tmp_path / "m" / "MLmodel"
    mlmodel = yaml.safe_load(path.read_text())
    mlmodel["flavors"]["sklearn"]["sklearn_version"] = "0.24.2"
    path.write_text(yaml.safe_dump(mlmodel))
    import sklearn

    with pytest.warns(ModelVersionWarning, match=rf"scikit-learn 0\.24\.2 but {sklearn.__version__} is installed"):
        load_model(tmp_path / "m")


def test_output_inference_failure_keeps_inputs(tmp_path: Path) -> None:
    import dockyard.pyfunc

    def broken(rows: object) -> object:
        raise ValueError("boom")

    with pytest.warns(UserWarning, match="could not infer the model's output schema"):
        info = dockyard.pyfunc.save_model(tmp_path / "m", python_model=broken, input_example=X)
    assert info.signature is not None and info.signature.inputs is not None and info.signature.outputs is None
