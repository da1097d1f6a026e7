from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dockyard.core.errors import InvalidParameter
from dockyard.models.infer import infer_params, infer_schema, infer_signature
from dockyard.models.signature import ColSpec, TensorSpec


def test_dataframe_column_types() -> None:
    frame = pd.DataFrame(
        {
            "i32": np.array([1], dtype="int32"),
            "i64": np.array([1], dtype="int64"),
            "f32": np.array([1.0], dtype="float32"),
            "f64": [1.0],
            "flag": [True],
            "text": ["a"],
            "when": [pd.Timestamp("2024-01-01")],
            "raw": [b"x"],
        }
    )
    types = {s.name: s.type for s in infer_schema(frame)}
    assert types == {
        "i32": "integer",
        "i64": "long",
        "f32": "float",
        "f64": "double",
        "flag": "boolean",
        "text": "string",
        "when": "datetime",
        "raw": "binary",
    }


def test_missing_values_make_a_column_optional() -> None:
    schema = infer_schema(pd.DataFrame({"x": [1.0, None], "y": [1.0, 2.0]}))
    assert [s.required for s in schema] == [False, True]


def test_numpy_input_is_a_tensor_with_variable_batch() -> None:
    assert infer_schema(np.zeros((4, 3), dtype="float32")).specs == (TensorSpec("float32", (-1, 3)),)


def test_one_dimensional_output_is_one_unnamed_column() -> None:
    # What MLflow writes for a classifier's predict() output.
    assert infer_schema(np.array([0, 1]), output=True).specs == (ColSpec("long"),)
    assert infer_schema(np.zeros((2, 2)), output=True).specs == (TensorSpec("float64", (-1, 2)),)


def test_dict_of_arrays_is_named_tensors() -> None:
    schema = infer_schema({"a": np.zeros((2, 3)), "b": np.zeros(2, dtype="int64")})
    assert schema.specs == (TensorSpec("float64", (-1, 3), "a"), TensorSpec("int64", (-1,), "b"))


def test_records_and_single_row_dicts_are_columns() -> None:
    assert infer_schema([{"a": 1, "b": "x"}]).names() == ["a", "b"]
    assert [s.type for s in infer_schema({"a": 1.5, "b": "x"})] == ["double", "string"]


def test_scalars_and_lists() -> None:
    assert infer_schema(["a", "b"]).specs == (ColSpec("string"),)
    assert infer_schema("hello").specs == (ColSpec("string"),)


@pytest.mark.parametrize("data", [[], {}, object()])
def test_cannot_infer(data: object) -> None:
    with pytest.raises(InvalidParameter, match="cannot infer"):
        infer_schema(data)


def test_params() -> None:
    schema = infer_params({"k": 3, "t": 0.5, "on": True, "name": "x", "ids": [1, 2], "at": dt.datetime(2024, 1, 1)})
    kinds = {s.name: (s.type, s.shape) for s in schema.specs}
    assert kinds == {
        "k": ("long", None),
        "t": ("double", None),
        "on": ("boolean", None),
        "name": ("string", None),
        "ids": ("long", (-1,)),
        "at": ("datetime", None),
    }
    with pytest.raises(InvalidParameter, match="param 'bad'"):
        infer_params({"bad": object()})


def test_signature_from_input_and_output() -> None:
    sig = infer_signature(pd.DataFrame({"x": [1.0]}), np.array([1]), {"k": 1})
    assert sig.inputs is not None and sig.inputs.names() == ["x"]
    assert sig.outputs is not None and sig.outputs.specs == (ColSpec("long"),)
    assert sig.params is not None and sig.params.specs[0].name == "k"
