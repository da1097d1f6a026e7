"""Infer a signature from an input example and the model's output on it.

What each kind of data becomes (the same choices MLflow makes, so signatures look alike):

- a pandas DataFrame: one column spec per column; a column with missing values is optional;
- a pandas Series, a 1-D numpy array *output*, a list of scalars: one unnamed column;
- a numpy array *input*: one tensor, first dimension variable (``-1``);
- a dict of numpy arrays: one named tensor per key; other dicts are one row of named columns;
- a list of dicts: rows of named columns.

    >>> import pandas as pd
    >>> infer_schema(pd.DataFrame({"x": [1.5], "n": [2]})).to_json()
    '[{"type": "double", "name": "x", "required": true}, {"type": "long", "name": "n", "required": true}]'
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.models.signature import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema, TensorSpec

_KIND_TO_TYPE = {"b": "boolean", "M": "datetime", "S": "binary", "U": "string"}


def column_type(dtype: Any, values: Any = None) -> str:
    """MLflow's column type for a numpy/pandas dtype (``values`` settle ``object`` columns)."""
    import numpy as np

    try:
        kind = np.dtype(dtype).kind
        size = np.dtype(dtype).itemsize
    except TypeError:
        kind, size = "O", 0  # pandas extension dtypes: string, category...
        name = str(dtype).lower()
        if name.startswith(("string", "str")):
            return "string"
        if name == "boolean":
            return "boolean"
        if name.startswith(("int", "uint")):
            return "long" if "64" in name else "integer"
        if name.startswith("float"):
            return "double" if "64" in name else "float"
        if name.startswith("datetime"):
            return "datetime"
    if kind in _KIND_TO_TYPE:
        return _KIND_TO_TYPE[kind]
    if kind == "i":
        return "long" if size > 4 else "integer"
    if kind == "u":
        return "long" if size >= 4 else "integer"
    if kind == "f":
        return "float" if size <= 4 else "double"
    if kind == "O":
        return _object_type(values)
    raise InvalidParameter(f"cannot infer a column type for dtype {dtype}")


def _object_type(values: Any) -> str:
    if values is None:
        return "string"
    for value in values:
        if value is None or (isinstance(value, float) and value != value):
            continue
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "long"
        if isinstance(value, float):
            return "double"
        if isinstance(value, bytes | bytearray):
            return "binary"
        if isinstance(value, _dt.datetime):
            return "datetime"
        if isinstance(value, list | tuple | dict):
            return "any"
        return "string"
    return "string"


def _frame_schema(frame: Any) -> Schema:
    specs = []
    for name in frame.columns:
        column = frame[name]
        kind = column_type(column.dtype, column.to_numpy() if column.dtype == object else None)
        specs.append(ColSpec(kind if kind != "any" else {"type": "any"}, str(name), not bool(column.isna().any())))
    return Schema(specs)


def _tensor(array: Any, name: str | None = None) -> TensorSpec:
    shape = (-1, *array.shape[1:]) if array.ndim else ()
    return TensorSpec(str(array.dtype), tuple(int(d) for d in shape), name)


def infer_schema(data: Any, *, output: bool = False) -> Schema:
    """The schema of ``data``; ``output=True`` treats a 1-D array as one unnamed column."""
    import numpy as np

    pandas = _pandas()
    if pandas is not None and isinstance(data, pandas.DataFrame):
        return _frame_schema(data)
    if pandas is not None and isinstance(data, pandas.Series):
        name = None if data.name is None or output else str(data.name)
        values = data.to_numpy() if data.dtype == object else None
        return Schema([ColSpec(column_type(data.dtype, values), name, not bool(data.isna().any()))])
    if isinstance(data, np.ndarray):
        if output and data.ndim == 1:
            values = data if data.dtype == object else None
            return Schema([ColSpec(column_type(data.dtype, values))])
        return Schema([_tensor(data)])
    if isinstance(data, dict):
        if not data:
            raise InvalidParameter("cannot infer a schema from an empty dict")
        if all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([_tensor(v, str(k)) for k, v in data.items()])
        if pandas is None:
            raise InvalidParameter("inferring a schema from a dict of columns needs pandas")
        rows = data if all(isinstance(v, list | tuple) for v in data.values()) else {k: [v] for k, v in data.items()}
        return _frame_schema(pandas.DataFrame(rows))
    if isinstance(data, list | tuple):
        if not data:
            raise InvalidParameter("cannot infer a schema from an empty list")
        if all(isinstance(v, dict) for v in data):
            if pandas is None:
                raise InvalidParameter("inferring a schema from records needs pandas")
            return _frame_schema(pandas.DataFrame(list(data)))
        if all(isinstance(v, list | tuple) for v in data):
            return infer_schema(np.asarray(data), output=output)
        return Schema([ColSpec(_object_type(data))])
    if isinstance(data, str | bytes | bool | int | float):
        return Schema([ColSpec(_object_type([data]))])
    raise InvalidParameter(
        f"cannot infer a schema from {type(data).__name__}: use a pandas DataFrame, a numpy array, "
        "a dict of arrays or a list of records"
    )


def infer_params(params: dict[str, Any]) -> ParamSchema:
    """A params schema with each value as its default."""
    specs = []
    for name, value in params.items():
        shape = None
        sample = value
        if isinstance(value, list):
            if not value:
                raise InvalidParameter(f"param {name!r}: cannot infer a type from an empty list")
            shape, sample = (-1,), value[0]
        if isinstance(sample, bool):
            kind = "boolean"
        elif isinstance(sample, int):
            kind = "long"
        elif isinstance(sample, float):
            kind = "double"
        elif isinstance(sample, str):
            kind = "string"
        elif isinstance(sample, _dt.datetime):
            kind, value = "datetime", value.isoformat() if shape is None else [v.isoformat() for v in value]
        else:
            raise InvalidParameter(f"param {name!r}: unsupported type {type(sample).__name__}")
        specs.append(ParamSpec(str(name), kind, value, shape))
    return ParamSchema(specs)


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """A signature from example input, the model's output on it and example params (any may be None)."""
    return ModelSignature(
        None if model_input is None else infer_schema(model_input),
        None if model_output is None else infer_schema(model_output, output=True),
        None if not params else infer_params(params),
    )


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:  # numpy-only environments can still infer tensor schemas
        return None
    return pandas
