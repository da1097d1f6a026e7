from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import dockyard.pyfunc
from dockyard.core.errors import ModelInputError
from dockyard.models import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema, load_model


class Scale(dockyard.pyfunc.PythonModel):
    def load_context(self, context: dockyard.pyfunc.PythonModelContext) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        extra = (params or {}).get("offset", 0.0)
        return model_input * self.factor + extra


class NoContext(dockyard.pyfunc.PythonModel):
    def predict(self, model_input: Any) -> Any:  # type: ignore[override]
        return len(model_input)


def test_custom_model_with_artifacts_params_and_signature(tmp_path: Path) -> None:
    (tmp_path / "factor.txt").write_text("3")
    signature = ModelSignature(
        Schema([ColSpec("double", "x")]), None, ParamSchema([ParamSpec("offset", "double", 0.0)])
    )
    dockyard.pyfunc.save_model(
        tmp_path / "m", python_model=Scale(), artifacts={"factor": tmp_path / "factor.txt"}, signature=signature
    )
    assert (tmp_path / "m" / "artifacts" / "factor.txt").read_text() == "3"
    predictor = load_model(tmp_path / "m", allow_pickle=True)  # a custom model is a pickle: opted in
    assert predictor.predict(pd.DataFrame({"x": [1, 2]}))["x"].tolist() == [3.0, 6.0]
    assert predictor.predict(pd.DataFrame({"x": [1.0]}), params={"offset": 1})["x"].tolist() == [4.0]
    with pytest.raises(ModelInputError, match="missing input column 'x'"):
        predictor.predict(pd.DataFrame({"y": [1.0]}))
    assert isinstance(predictor.native, Scale)


def test_predict_without_context_and_functions(tmp_path: Path) -> None:
    dockyard.pyfunc.save_model(tmp_path / "a", python_model=NoContext())
    assert load_model(tmp_path / "a", allow_pickle=True).predict([1, 2, 3]) == 3
    dockyard.pyfunc.save_model(tmp_path / "b", python_model=lambda rows: [r * 2 for r in rows])
    assert load_model(tmp_path / "b", allow_pickle=True).predict([1, 2]) == [2, 4]


def test_code_paths_are_importable_after_loading(tmp_path: Path) -> None:
    package = tmp_path / "src" / "helpers_for_dockyard_test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    dockyard.pyfunc.save_model(tmp_path / "m", python_model=NoContext(), code_paths=[package])
    assert (tmp_path / "m" / "code" / "helpers_for_dockyard_test" / "__init__.py").is_file()
    load_model(tmp_path / "m", allow_pickle=True)
    import helpers_for_dockyard_test  # type: ignore[import-not-found]

    assert helpers_for_dockyard_test.double(2) == 4


def test_missing_artifact_is_refused(tmp_path: Path) -> None:
    from dockyard.core.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match=r"artifacts\['k'\]"):
        dockyard.pyfunc.save_model(tmp_path / "m", python_model=Scale(), artifacts={"k": tmp_path / "nope"})
    assert not (tmp_path / "m").exists()
