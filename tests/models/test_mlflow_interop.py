"""The MLmodel promise, both ways, with the real ``mlflow`` package (no server involved).

Dockyard writes a model -> ``mlflow.pyfunc.load_model`` and ``mlflow.<flavor>.load_model`` load it and
predict the same; MLflow writes a model -> ``dockyard.models.load_model`` and ``dockyard.<flavor>``
load it without Dockyard importing mlflow.

Run against mlflow-skinny 3.17.2 and 3.18.0 (the version this run uses is in pytest's header). MLflow
3.18 renamed the opt-in for loading pickles from ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` to
``MLFLOW_ALLOW_MODEL_CODE_EXECUTION`` and warns when the old name is set, so the tests set the name the
installed MLflow reads.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# Importing mlflow's flavors warns about its own type hints ("Any type hint is inferred as AnyType").
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import mlflow.environment_variables
    import mlflow.lightgbm
    import mlflow.onnx
    import mlflow.pyfunc
    import mlflow.pytorch
    import mlflow.sklearn
    import mlflow.xgboost

import dockyard.lightgbm
import dockyard.onnx
import dockyard.pyfunc
import dockyard.pytorch
import dockyard.sklearn
import dockyard.xgboost
from dockyard.core.errors import UnsafeModel
from dockyard.models import load_model

# The opt-in to loading pickled models (MLflow refuses them without one): renamed in MLflow 3.18.
# Dockyard honours both names too (as it does DOCKYARD_ALLOW_PICKLE), so setting it opts both in.
PICKLE_OPT_IN = (
    "MLFLOW_ALLOW_MODEL_CODE_EXECUTION"
    if hasattr(mlflow.environment_variables, "MLFLOW_ALLOW_MODEL_CODE_EXECUTION")
    else "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
)

# mlflow's own pandas calls use APIs that pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning:mlflow")

RNG = np.random.default_rng(3)
X = pd.DataFrame(RNG.random((60, 3)), columns=["a", "b", "c"])
Y = (X.a + X.c > 1).astype(int)
XA = X.to_numpy(dtype="float32").copy()


def _sklearn() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=5).fit(X, Y)


def _xgboost() -> Any:
    import xgboost

    return xgboost.XGBClassifier(n_estimators=4, max_depth=2).fit(X, Y)


def _lightgbm() -> Any:
    import lightgbm

    return lightgbm.LGBMClassifier(n_estimators=4, verbose=-1).fit(X, Y)


def _onnx() -> Any:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    return to_onnx(LogisticRegression().fit(XA, Y), XA[:1], options={"zipmap": False})


def _pytorch() -> Any:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 2))


# flavor -> (build, input, native predict)
CASES: dict[str, tuple[Callable[[], Any], Any, Callable[[Any, Any], Any]]] = {
    "sklearn": (_sklearn, X, lambda m, d: m.predict(d)),
    "xgboost": (_xgboost, X, lambda m, d: m.predict(d)),
    "lightgbm": (_lightgbm, X, lambda m, d: m.predict(d)),
    "onnx": (_onnx, XA, None),  # type: ignore[dict-item]
    "pytorch": (_pytorch, XA, None),  # type: ignore[dict-item]
}


def _flat(out: Any) -> np.ndarray:
    if isinstance(out, dict):
        out = next(iter(out.values()))
    if isinstance(out, pd.DataFrame):
        out = out.to_numpy()
    return np.asarray(out, dtype="float64").ravel()


@pytest.mark.parametrize("flavor", list(CASES))
def test_mlflow_loads_a_dockyard_model(tmp_path: Path, flavor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PICKLE_OPT_IN, "true")  # pytorch's module pickle
    build, data, _ = CASES[flavor]
    model = build()
    getattr(dockyard, flavor).save_model(model, tmp_path / "m", input_example=data[:3])
    ours = _flat(load_model(tmp_path / "m").predict(data))
    theirs = _flat(mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(data))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    native = getattr(mlflow, flavor).load_model(str(tmp_path / "m"))
    assert type(native).__name__ == type(getattr(dockyard, flavor).load_model(tmp_path / "m")).__name__


@pytest.mark.parametrize("flavor", list(CASES))
def test_dockyard_loads_an_mlflow_model(tmp_path: Path, flavor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PICKLE_OPT_IN, "true")
    build, data, _ = CASES[flavor]
    model = build()
    kwargs: dict[str, Any] = {"input_example": data[:3], "pip_requirements": ["numpy"]}  # no env inference
    if flavor == "pytorch":
        kwargs["serialization_format"] = "pickle"
    if flavor == "sklearn":  # MLflow makes the writer list skops types it does not trust by default
        kwargs["skops_trusted_types"] = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
    getattr(mlflow, flavor).save_model(model, str(tmp_path / "m"), **kwargs)
    theirs = _flat(mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(data))
    predictor = load_model(tmp_path / "m")
    assert (predictor.signature is None) == (mlflow.models.Model.load(str(tmp_path / "m")).signature is None)
    np.testing.assert_allclose(_flat(predictor.predict(data)), theirs, rtol=1e-5)
    assert getattr(dockyard, flavor).load_model(tmp_path / "m") is not None


def test_mlflow_pytorch_export_format_loads(tmp_path: Path) -> None:
    model = _pytorch()
    mlflow.pytorch.save_model(model, str(tmp_path / "m"), input_example=XA[:3], pip_requirements=["torch"])
    assert (tmp_path / "m" / "data" / "model.pt2").is_file()
    np.testing.assert_allclose(
        _flat(load_model(tmp_path / "m").predict(XA)), _flat(mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(XA))
    )


class Shift(dockyard.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        self.by = float(Path(context.artifacts["by"]).read_text())

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return model_input + self.by


def test_custom_models_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PICKLE_OPT_IN, "true")  # MLflow refuses pickles by default
    (tmp_path / "by.txt").write_text("2")
    dockyard.pyfunc.save_model(tmp_path / "ours", python_model=Shift(), artifacts={"by": tmp_path / "by.txt"})
    assert mlflow.pyfunc.load_model(str(tmp_path / "ours")).predict(X)["a"].tolist() == (X.a + 2).tolist()

    class Theirs(mlflow.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
            return model_input * 10

    mlflow.pyfunc.save_model(str(tmp_path / "theirs"), python_model=Theirs(), pip_requirements=["numpy"])
    assert load_model(tmp_path / "theirs").predict(X)["b"].tolist() == (X.b * 10).tolist()
    monkeypatch.delenv(PICKLE_OPT_IN)
    with pytest.raises(UnsafeModel, match=r"python_model\.pkl is a pickle"):  # MLflow's opt-in was Dockyard's too
        load_model(tmp_path / "theirs")
