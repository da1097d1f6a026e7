from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dockyard.core.errors import ModelInputError
from dockyard.models.enforce import enforce_params, enforce_schema
from dockyard.models.signature import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

COLUMNS = Schema([ColSpec("double", "x"), ColSpec("long", "n"), ColSpec("string", "s")])


def test_columns_reordered_extras_dropped_ints_widened() -> None:
    frame = pd.DataFrame({"s": ["a"], "extra": [0], "n": np.array([2], dtype="int32"), "x": [1]})
    out = enforce_schema(frame, COLUMNS)
    assert list(out.columns) == ["x", "n", "s"]
    assert out.dtypes.tolist()[:2] == [np.dtype("float64"), np.dtype("int64")]
    assert out["s"].tolist() == ["a"]


def test_missing_column_is_named_with_its_type() -> None:
    with pytest.raises(ModelInputError, match=r"missing input column 'n' \(expected long\)"):
        enforce_schema(pd.DataFrame({"x": [1.0], "s": ["a"]}), COLUMNS)


def test_several_missing_columns() -> None:
    with pytest.raises(ModelInputError, match=r"missing input columns 'x'.*'n'"):
        enforce_schema(pd.DataFrame({"s": ["a"]}), COLUMNS)


def test_wrong_type_is_named() -> None:
    with pytest.raises(ModelInputError, match="column 'x': expected double, got values such as 'oops'"):
        enforce_schema(pd.DataFrame({"x": ["oops"], "n": [1], "s": ["a"]}), COLUMNS)
    with pytest.raises(ModelInputError, match="column 's': expected string, got int64"):
        enforce_schema(pd.DataFrame({"x": [1.0], "n": [1], "s": [5]}), COLUMNS)


def test_lossy_float_to_integer_is_refused_but_whole_floats_pass() -> None:
    with pytest.raises(ModelInputError, match="column 'n': expected long"):
        enforce_schema(pd.DataFrame({"x": [1.0], "n": [1.5], "s": ["a"]}), COLUMNS)
    out = enforce_schema(pd.DataFrame({"x": [1.0], "n": [3.0], "s": ["a"]}), COLUMNS)
    assert out["n"].tolist() == [3] and out["n"].dtype == np.int64


def test_double_is_not_narrowed_to_float() -> None:
    schema = Schema([ColSpec("float", "f")])
    assert enforce_schema(pd.DataFrame({"f": np.array([1.0], dtype="float32")}), schema)["f"].dtype == np.float32
    with pytest.raises(ModelInputError, match="expected float, got float64"):
        enforce_schema(pd.DataFrame({"f": [1.0]}), schema)


def test_missing_values_in_required_integer_column() -> None:
    with pytest.raises(ModelInputError, match="column 'n' has missing values"):
        enforce_schema(pd.DataFrame({"x": [1.0, 2.0], "n": [1, None], "s": ["a", "b"]}), COLUMNS)


def test_optional_column_may_be_absent() -> None:
    schema = Schema([ColSpec("double", "x"), ColSpec("double", "y", required=False)])
    assert list(enforce_schema({"x": [1.0]}, schema).columns) == ["x"]


def test_other_input_shapes_become_frames() -> None:
    assert enforce_schema([{"x": 1, "n": 2, "s": "a"}], COLUMNS).shape == (1, 3)
    assert enforce_schema({"x": 1.0, "n": 2, "s": "a"}, COLUMNS).shape == (1, 3)
    two = Schema([ColSpec("double", "a"), ColSpec("double", "b")])
    assert list(enforce_schema(np.ones((2, 2)), two).columns) == ["a", "b"]
    with pytest.raises(ModelInputError, match="does not fit a column signature"):
        enforce_schema(np.ones((2, 5)), two)


def test_datetime_strings_are_parsed() -> None:
    out = enforce_schema({"t": ["2024-01-02"]}, Schema([ColSpec("datetime", "t")]))
    assert out["t"].dtype.kind == "M"


def test_tensor_dtype_and_shape() -> None:
    schema = Schema([TensorSpec("float32", (-1, 3))])
    assert enforce_schema(np.ones((2, 3), dtype="int32"), schema).dtype == np.float32
    assert enforce_schema([[1.0, 2.0, 3.0]], Schema([TensorSpec("float64", (-1, 3))])).shape == (1, 3)
    with pytest.raises(ModelInputError, match=r"expected shape \[-1, 3\], got \[2, 4\]"):
        enforce_schema(np.ones((2, 4), dtype="float32"), schema)
    with pytest.raises(ModelInputError, match="expected dtype float32, got float64"):
        enforce_schema(np.ones((2, 3)), schema)
    with pytest.raises(ModelInputError, match="expected shape"):
        enforce_schema(np.ones(3, dtype="float32"), schema)


def test_named_tensors() -> None:
    schema = Schema([TensorSpec("float64", (-1,), "a"), TensorSpec("int64", (-1,), "b")])
    out = enforce_schema({"a": [1.0], "b": [2]}, schema)
    assert set(out) == {"a", "b"}
    with pytest.raises(ModelInputError, match=r"missing input tensor\(s\) \['b'\]"):
        enforce_schema({"a": [1.0]}, schema)


def test_params_defaults_types_and_unknown_names() -> None:
    schema = ParamSchema(
        [ParamSpec("k", "long", 3), ParamSpec("t", "double", 0.5), ParamSpec("ids", "long", [1], (-1,))]
    )
    assert enforce_params(None, schema) == {"k": 3, "t": 0.5, "ids": [1]}
    assert enforce_params({"t": 1}, schema) == {"k": 3, "t": 1.0, "ids": [1]}
    with pytest.raises(ModelInputError, match="param 'k': expected long"):
        enforce_params({"k": "x"}, schema)
    with pytest.raises(ModelInputError, match=r"unknown params \['zz'\]"):
        enforce_params({"zz": 1}, schema)
    with pytest.raises(ModelInputError, match="expected a list"):
        enforce_params({"ids": 1}, schema)
    assert enforce_params({"a": 1}, None) == {"a": 1}


def test_numeric_frames_take_one_step_and_are_not_mutated() -> None:
    schema = Schema([ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("float", "c")])
    ordered = pd.DataFrame({"a": [1.0], "b": [2], "c": np.array([3.0], dtype="float32")})
    assert enforce_schema(ordered, schema) is ordered  # nothing to change: the same frame
    shuffled = pd.DataFrame({"c": np.array([3], dtype="int16"), "x": [9], "b": np.array([2], dtype="int32"), "a": [1]})
    out = enforce_schema(shuffled, schema)
    assert list(out.columns) == ["a", "b", "c"]
    assert out.dtypes.tolist() == [np.dtype("float64"), np.dtype("int64"), np.dtype("float32")]
    assert shuffled.dtypes.tolist() == [np.dtype("int16"), np.dtype("int64"), np.dtype("int32"), np.dtype("int64")]
    with pytest.raises(ModelInputError, match="column 'b': expected long"):
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [2.5], "c": [1.0]}), schema)
