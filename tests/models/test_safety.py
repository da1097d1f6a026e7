"""Safe loading: a model that runs code when loaded is refused, before a byte of it is unpickled, unless
the caller opts in; skops trusts Dockyard's list and the caller's, never the model's own MLmodel."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer

import dockyard.lightgbm
import dockyard.pyfunc
import dockyard.pytorch
import dockyard.sklearn
import dockyard.xgboost
from dockyard.core.errors import InvalidModel, InvalidParameter, UnsafeModel
from dockyard.models import load_model
from dockyard.models.flavors import get_flavor
from dockyard.models.safety import BUILTIN_TRUSTED_TYPES, LoadPolicy, applied, current

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
Y = [0, 0, 1, 1]
OPT_IN = r"pass allow_pickle=True, --allow-pickle or DOCKYARD_ALLOW_PICKLE=true"


class Payload:
    """Unpickling this creates the directory ``marker``: proof that the file's code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def _write_payload(path: Path, marker: Path) -> None:
    with path.open("wb") as fh:
        pickle.dump(Payload(marker), fh)


def _pickled_sklearn(tmp_path: Path, fmt: str) -> tuple[Path, Path]:
    """A scikit-learn model saved as ``fmt`` whose model.pkl is a payload; (model dir, marker)."""
    model = tmp_path / f"sk-{fmt}"
    dockyard.sklearn.save_model(LogisticRegression().fit(X, Y), model, serialization_format=fmt)
    marker = tmp_path / f"ran-{fmt}"
    _write_payload(model / "model.pkl", marker)
    return model, marker


class Doubler(dockyard.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: dict | None = None) -> Any:
        return model_input * 2


# ---------------------------------------------------------------------- pickles are refused


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_a_pickled_sklearn_model_is_refused_and_never_unpickled(tmp_path: Path, fmt: str) -> None:
    model, marker = _pickled_sklearn(tmp_path, fmt)
    message = rf"model\.pkl is a pickle \(serialization_format: {fmt}\), which runs code when loaded; {OPT_IN}"
    with pytest.raises(UnsafeModel, match=message):
        load_model(model)
    with pytest.raises(UnsafeModel, match=message):
        dockyard.sklearn.load_model(model)
    assert not marker.exists()


def test_the_payload_does_run_with_the_opt_in(tmp_path: Path) -> None:
    """The refusal tests above prove something: with the opt-in, the same file runs its code."""
    model, marker = _pickled_sklearn(tmp_path, "pickle")
    assert dockyard.sklearn.load_model(model, allow_pickle=True) is None  # what os.mkdir returned
    assert marker.is_dir()


def test_a_custom_python_model_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    dockyard.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    marker = tmp_path / "ran"
    _write_payload(tmp_path / "m" / "python_model.pkl", marker)
    with pytest.raises(UnsafeModel, match=r"python_model\.pkl is a pickle \(a custom Python model, cloudpickle\)"):
        load_model(tmp_path / "m")
    with pytest.raises(UnsafeModel, match=r"python_model\.pkl"):
        dockyard.pyfunc.load_model(str(tmp_path / "m"))
    assert not marker.exists()


def test_a_models_code_directory_is_not_put_on_sys_path(tmp_path: Path) -> None:
    package = tmp_path / "src" / "never_imported_dockyard_helper"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("import os\nos.mkdir('ran')\n")
    dockyard.pyfunc.save_model(tmp_path / "m", python_model=Doubler(), code_paths=[package])
    with pytest.raises(
        UnsafeModel, match=rf"code/ is the model's code directory \(code_paths, put on sys\.path\).*; {OPT_IN}"
    ):
        load_model(tmp_path / "m")
    assert str(tmp_path / "m" / "code") not in sys.path


def test_an_xgboost_model_class_outside_xgboost_is_not_imported(tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    dockyard.xgboost.save_model(xgboost.XGBClassifier(n_estimators=2).fit(X, Y), tmp_path / "m")
    mlmodel = tmp_path / "m" / "MLmodel"
    text = yaml.safe_load(mlmodel.read_text())
    text["flavors"]["xgboost"]["model_class"] = "never_imported_dockyard_module.Model"
    mlmodel.write_text(yaml.safe_dump(text))
    with pytest.raises(UnsafeModel, match=r"model_class 'never_imported_dockyard_module\.Model' is a class outside"):
        dockyard.xgboost.load_model(tmp_path / "m")
    with pytest.raises(InvalidModel, match="cannot import model class"):  # opted in: it is imported (and fails)
        dockyard.xgboost.load_model(tmp_path / "m", allow_pickle=True)


def test_a_pickled_pytorch_module_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(2, 1))
    dockyard.pytorch.save_model(net, tmp_path / "m")
    marker = tmp_path / "ran"
    torch.save(Payload(marker), tmp_path / "m" / "data" / "model.pth")
    with pytest.raises(UnsafeModel, match=r"data/model\.pth is a pickle \(a whole PyTorch module.*'pt2' is safe"):
        load_model(tmp_path / "m")
    with pytest.raises(UnsafeModel, match=r"data/model\.pth"):
        dockyard.pytorch.load_model(tmp_path / "m")
    assert not marker.exists()


def test_a_flavor_called_directly_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, marker = _pickled_sklearn(tmp_path, "pickle")
    section = yaml.safe_load((model / "MLmodel").read_text())["flavors"]["sklearn"]
    with pytest.raises(UnsafeModel):
        get_flavor("sklearn").load(model, section)
    assert not marker.exists()
    monkeypatch.setenv("DOCKYARD_ALLOW_PICKLE", "true")
    get_flavor("sklearn").load(model, section)
    assert marker.is_dir()


# ---------------------------------------------------------------------- the opt-ins


def _pickled_doubler(tmp_path: Path) -> Path:
    dockyard.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    return tmp_path / "m"


def test_allow_pickle_true_loads_it(tmp_path: Path) -> None:
    model = _pickled_doubler(tmp_path)
    assert load_model(model, allow_pickle=True).predict(np.array([1, 2])).tolist() == [2, 4]
    assert isinstance(dockyard.pyfunc.load_model(str(model), allow_pickle=True).native, Doubler)


@pytest.mark.parametrize(
    "variable",
    ["DOCKYARD_ALLOW_PICKLE", "MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"],
)
def test_each_environment_variable_opts_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    model = _pickled_doubler(tmp_path)
    with pytest.raises(UnsafeModel):
        load_model(model)
    monkeypatch.setenv(variable, "true")
    assert load_model(model).predict(np.array([3])).tolist() == [6]


def test_an_explicit_false_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _pickled_doubler(tmp_path)
    monkeypatch.setenv("DOCKYARD_ALLOW_PICKLE", "true")
    with pytest.raises(UnsafeModel):
        load_model(model, allow_pickle=False)


def test_a_bad_setting_or_argument_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _pickled_doubler(tmp_path)
    with pytest.raises(InvalidParameter, match="allow_pickle must be True or False"):
        load_model(model, allow_pickle="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="trusted_types must be a list"):
        load_model(model, trusted_types="posix.system")
    monkeypatch.setenv("DOCKYARD_ALLOW_PICKLE", "maybe")
    with pytest.raises(InvalidParameter, match="DOCKYARD_ALLOW_PICKLE='maybe' is not a boolean"):
        load_model(model)


def test_the_policy_is_restored_after_a_load(tmp_path: Path) -> None:
    model = _pickled_doubler(tmp_path)
    load_model(model, allow_pickle=True)
    assert current() == LoadPolicy(allow_pickle=False)
    with applied(LoadPolicy(allow_pickle=True)):
        with pytest.raises(UnsafeModel):
            load_model(model, allow_pickle=False)
        assert current().allow_pickle is True


def test_safe_formats_need_no_opt_in(tmp_path: Path) -> None:
    dockyard.sklearn.save_model(LogisticRegression().fit(X, Y), tmp_path / "m")  # skops
    assert load_model(tmp_path / "m").predict(X).tolist() == LogisticRegression().fit(X, Y).predict(X).tolist()


# ---------------------------------------------------------------------- skops trust


def test_skops_refuses_a_dangerous_type_its_mlmodel_declares_trusted(tmp_path: Path) -> None:
    """The attack: a FunctionTransformer(func=os.system) whose MLmodel lists posix.system as trusted."""
    transformer = FunctionTransformer(func=os.system).fit(X)
    dockyard.sklearn.save_model(transformer, tmp_path / "m", predict_fn="transform")
    section = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]["sklearn"]
    dangerous = f"{os.system.__module__}.system"  # posix.system (nt.system on Windows)
    assert dangerous in section["skops_trusted_types"]  # the model vouches for itself...
    message = rf"model\.skops is a skops file with types Dockyard does not trust: {dangerous};.*trusted_types="
    with pytest.raises(UnsafeModel, match=message):  # ...and is not believed
        load_model(tmp_path / "m")
    with pytest.raises(UnsafeModel, match=dangerous):
        dockyard.sklearn.load_model(tmp_path / "m")
    with pytest.raises(UnsafeModel, match=dangerous):  # allowing pickles does not trust skops types
        load_model(tmp_path / "m", allow_pickle=True)
    loaded = dockyard.sklearn.load_model(tmp_path / "m", trusted_types=[dangerous])  # the caller decides
    assert loaded.func is os.system


def test_skops_loads_a_type_the_caller_trusts(tmp_path: Path) -> None:
    transformer = FunctionTransformer(func=np.sqrt, inverse_func=pd.isna, check_inverse=False).fit(X)
    dockyard.sklearn.save_model(transformer, tmp_path / "m", predict_fn="transform")
    with pytest.raises(UnsafeModel, match=r"pandas\.isna"):
        load_model(tmp_path / "m")
    predictor = load_model(tmp_path / "m", trusted_types=["pandas.isna"])
    assert predictor.predict(X)["a"].tolist() == [0.0, 1.0, np.sqrt(2.0), np.sqrt(3.0)]


@pytest.mark.parametrize("model", ["hist_gradient_boosting", "random_forest", "knn", "calibrated", "lightgbm"])
def test_common_models_load_with_the_builtin_list_alone(tmp_path: Path, model: str) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier

    lightgbm = pytest.importorskip("lightgbm")
    builders = {
        "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(max_iter=3),
        "random_forest": lambda: RandomForestClassifier(n_estimators=2),
        "knn": lambda: KNeighborsClassifier(n_neighbors=2, algorithm="kd_tree"),
        "calibrated": lambda: CalibratedClassifierCV(LogisticRegression(), cv=2),
        "lightgbm": lambda: lightgbm.LGBMClassifier(n_estimators=2, min_child_samples=1, verbose=-1),
    }
    fitted = builders[model]().fit(X, Y)
    if model == "lightgbm":
        dockyard.lightgbm.save_model(fitted, tmp_path / "m")
    else:
        dockyard.sklearn.save_model(fitted, tmp_path / "m")
    assert load_model(tmp_path / "m").predict(X).tolist() == fitted.predict(X).tolist()


def test_the_builtin_list_names_no_function() -> None:
    """Exact class names only: a prefix or a function (what FunctionTransformer calls) would be a hole."""
    assert all(
        name.rsplit(".", 1)[1].lstrip("_")[:1].isupper() or name == "numpy.dtype" for name in BUILTIN_TRUSTED_TYPES
    )
    assert not any(name.endswith((".system", ".exec", ".eval")) for name in BUILTIN_TRUSTED_TYPES)
