"""Check model input against a signature before the model sees it.

Errors are :class:`~dockyard.core.errors.ModelInputError` and name the column (or tensor) and what was
expected. Only lossless coercions are applied, and they are the documented ones:

- columns are put in the schema's order, and columns the schema does not name are dropped;
- integers become floats or wider integers (``int32 -> long``, ``long -> double``), ``float -> double``;
- a ``datetime`` column given as ISO strings is parsed;
- a tensor given as a DataFrame or nested lists becomes an array; integers widen to a float dtype.

Anything lossy (float to integer, double to float, text to number) is refused.

    >>> import pandas as pd
    >>> from dockyard.models.signature import ColSpec, Schema
    >>> schema = Schema([ColSpec("double", "x"), ColSpec("string", "s")])
    >>> enforce_schema({"s": ["a"], "x": [1]}, schema)["x"].dtype
    dtype('float64')
    >>> enforce_schema({"x": [1.0]}, schema)
    Traceback (most recent call last):
    ...
    dockyard.core.errors.ModelInputError: missing input column 's' (expected string)
"""

from __future__ import annotations

import functools
from typing import Any

from dockyard.core.errors import MissingExtra, ModelInputError
from dockyard.models.signature import COLUMN_TYPES, ColSpec, ParamSchema, Schema, TensorSpec

# Source numpy kind -> target types it may widen to without loss.
_NUMERIC_TARGETS = {"integer": "i", "long": "i", "float": "f", "double": "f"}


def enforce_schema(data: Any, schema: Schema) -> Any:
    """``data`` checked and coerced to ``schema``: a DataFrame for columns, an array (or dict) for tensors.

    Where pandas is not installed (a serving bundle of an ONNX model), a table of numeric columns becomes
    a 2-D array, its columns in the schema's order, under the same rules.
    """
    if schema.is_tensor:
        return _enforce_tensors(data, schema)
    if not has_pandas():
        return _numeric_matrix(data, schema)
    return _enforce_columns(_as_frame(data, schema), schema)


@functools.cache
def has_pandas() -> bool:
    """Whether pandas can be imported here (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("pandas") is not None


# ---------------------------------------------------------------------- columns


def _as_frame(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=schema.specs[0].name if len(schema) == 1 else data.name)
    if isinstance(data, dict):
        if all(isinstance(v, list | tuple | np.ndarray | pd.Series) for v in data.values()):
            return pd.DataFrame({k: list(v) if isinstance(v, tuple) else v for k, v in data.items()})
        return pd.DataFrame([data])
    if isinstance(data, list | tuple):
        if data and all(isinstance(row, dict) for row in data):
            return pd.DataFrame(list(data))
        if not schema.has_names or len(schema) == 1:
            return pd.DataFrame({schema.specs[0].name or 0: list(data)})
    if isinstance(data, np.ndarray) and data.ndim == 2 and schema.has_names and data.shape[1] == len(schema):
        # A plain 2-D array for a column schema: columns by position, as the signature lists them.
        return pd.DataFrame(data, columns=schema.names())
    if isinstance(data, np.ndarray) and data.ndim == 1 and len(schema) == 1:
        return pd.DataFrame({schema.specs[0].name or 0: data})
    if isinstance(data, str | bytes | int | float | bool) and len(schema) == 1:
        return pd.DataFrame({schema.specs[0].name or 0: [data]})
    raise ModelInputError(
        f"input of type {type(data).__name__} does not fit a column signature of "
        f"{len(schema)} column(s) {schema.names()}: send a DataFrame, a dict of columns or a list of records"
    )


def _enforce_columns(frame: Any, schema: Schema) -> Any:
    specs: list[ColSpec] = [s for s in schema.specs if isinstance(s, ColSpec)]
    if not schema.has_names:
        if frame.shape[1] != 1 and len(specs) == 1:
            raise ModelInputError(f"expected one column of {specs[0].describe()}, got {frame.shape[1]} columns")
        frame = frame.copy()
        for position, spec in enumerate(specs):
            frame.iloc[:, position] = _coerce_column(frame.iloc[:, position], spec, f"column {position}")
        return frame
    present = {str(c): c for c in frame.columns}
    fast = _numeric_fast_path(frame, specs, present)
    if fast is not None:
        return fast
    missing = [s for s in specs if s.name not in present and s.required]
    if missing:
        wanted = ", ".join(f"{s.name!r} (expected {s.describe()})" for s in missing)
        noun = "column" if len(missing) == 1 else "columns"
        raise ModelInputError(f"missing input {noun} {wanted}")
    columns = {}
    for spec in specs:
        assert spec.name is not None  # noqa: S101  for mypy: Schema guarantees every spec has a name when has_names
        if spec.name in present:
            columns[spec.name] = _coerce_column(frame[present[spec.name]], spec, f"column {spec.name!r}")
    import pandas as pd

    return pd.DataFrame(columns, index=frame.index)


def _numeric_fast_path(frame: Any, specs: list[ColSpec], present: dict[str, Any]) -> Any:
    """The common case in one step: every column numeric, present, and of a type that needs at most a
    widening cast (no missing values can hide in an integer dtype). None: take the column-by-column path."""
    import numpy as np

    dtypes = dict(zip(present.values(), frame.dtypes.tolist(), strict=True))
    columns, casts = [], {}
    for spec in specs:
        if not isinstance(spec.type, str) or spec.type not in _NUMERIC_TARGETS or spec.name not in present:
            return None
        column = present[spec.name]
        dtype = dtypes[column]
        if not isinstance(dtype, np.dtype) or dtype.kind not in "iuf":
            return None
        target = np.dtype(COLUMN_TYPES[spec.type])
        if dtype != target:
            if not (np.can_cast(dtype, target, "safe") or (dtype.kind in "iu" and target.kind == "f")):
                return None
            casts[column] = target
        columns.append(column)
    # Already in the schema's order and types (what a request shaped like the signature gives): as is.
    out = frame if columns == list(present.values()) else frame[columns]
    if casts:
        out = out.astype(casts)
    renamed = {c: str(c) for c in columns if not isinstance(c, str)}
    return out.rename(columns=renamed) if renamed else out


def _numeric_matrix(data: Any, schema: Schema) -> Any:
    """Without pandas: a table of numeric columns (a dict of columns, a list of records, or a 2-D array
    whose columns are the schema's by position) as one 2-D array in the schema's column order."""
    import numpy as np

    specs: list[ColSpec] = [s for s in schema.specs if isinstance(s, ColSpec)]
    other = [s for s in specs if not isinstance(s.type, str) or s.type not in _NUMERIC_TARGETS]
    if other:
        raise MissingExtra("pandas", "serve") from ModelInputError(
            f"column {other[0].name!r} ({other[0].describe()}) is not numeric: tables of such columns need pandas"
        )
    if isinstance(data, np.ndarray) and data.ndim == 2:
        if data.shape[1] != len(specs):
            raise ModelInputError(f"expected {len(specs)} columns {schema.names()}, got an array of {data.shape[1]}")
        columns = [data[:, i] for i in range(len(specs))]
    else:
        if isinstance(data, list | tuple) and data and all(isinstance(row, dict) for row in data):
            data = {spec.name: [row.get(spec.name) for row in data] for spec in specs if spec.name in data[0]}
        if not isinstance(data, dict):
            raise ModelInputError(
                f"input of type {type(data).__name__} does not fit a column signature of {len(specs)} column(s) "
                f"{schema.names()}: send a dict of columns, a list of records or a 2-D array"
            )
        missing = [s for s in specs if s.name not in data]
        if missing:
            wanted = ", ".join(f"{s.name!r} (expected {s.describe()})" for s in missing)
            raise ModelInputError(f"missing input {'column' if len(missing) == 1 else 'columns'} {wanted}")
        columns = [data[s.name] for s in specs]
        fast = _small_doubles(columns, specs)
        if fast is not None:
            return fast
    coerced = [_numeric_column(c, s, f"column {s.name!r}") for c, s in zip(columns, specs, strict=True)]
    lengths = {len(c) for c in coerced}
    if len(lengths) > 1:
        raise ModelInputError("every input column must have the same number of values")
    dtype = np.result_type(*(c.dtype for c in coerced)) if coerced else np.dtype("float64")
    return np.column_stack(coerced).astype(dtype, copy=False) if coerced else np.empty((0, 0), dtype)


_SMALL_ROWS = 16  # _small_doubles checks each value in Python: worth it only for a few rows


def _small_doubles(columns: list[Any], specs: list[ColSpec]) -> Any:
    """A few rows of JSON numbers for ``double`` columns as one array in one step, or None (then each
    column goes through ``_numeric_column``, whose rules give the same array for such input). A 1-row
    request (the common case of a scoring server) saves the twenty small conversions of twenty columns."""
    import numpy as np

    if not columns or any(s.type != "double" for s in specs) or not all(type(c) is list for c in columns):
        return None
    rows = len(columns[0])
    if rows > _SMALL_ROWS or any(len(c) != rows for c in columns):
        return None
    if not all(type(v) is float or type(v) is int for c in columns for v in c):  # bool is not int here
        return None
    return np.array(columns, dtype="float64").T.copy()


def _numeric_column(values: Any, spec: ColSpec, label: str) -> Any:
    """One column for ``_numeric_matrix``: the casts ``_coerce_column`` allows, nothing lossy."""
    import numpy as np

    target = np.dtype(COLUMN_TYPES[str(spec.type)])
    column = np.asarray(values)
    if column.ndim != 1:
        raise ModelInputError(f"{label}: expected one value per row, got shape {list(column.shape)}")
    if column.dtype.kind in "OU" or column.dtype.kind == "b":
        items = column.tolist()
        if any(isinstance(v, bool) or not isinstance(v, int | float | type(None)) for v in items):
            example = next(v for v in items if isinstance(v, bool) or not isinstance(v, int | float | type(None)))
            raise ModelInputError(f"{label}: expected {spec.type}, got values such as {example!r}")
        if any(v is None for v in items) and target.kind != "f":
            raise ModelInputError(f"{label} has missing values, which an integer column ({spec.type}) cannot hold")
        column = np.array([np.nan if v is None else v for v in items], dtype="float64")
    kind = column.dtype.kind
    if kind in "iu" and target.kind == "f":
        return column.astype(target)
    if kind in "iuf" and np.can_cast(column.dtype, target, "safe"):
        return column if column.dtype == target else column.astype(target)
    if (
        kind == "f"
        and target.kind == "i"
        and bool(np.all(np.isfinite(column)))
        and bool((column == np.round(column)).all())
    ):
        return column.astype(target)
    raise ModelInputError(f"{label}: expected {spec.type}, got {column.dtype}")


def _coerce_column(column: Any, spec: ColSpec, label: str) -> Any:
    import numpy as np
    import pandas as pd

    if not spec.is_scalar:
        return column  # composite types: presence only
    wanted = str(spec.type)
    has_missing = bool(column.isna().any())
    if has_missing and spec.required and wanted not in ("double", "float"):
        raise ModelInputError(f"{label} has missing values but is required (expected {wanted})")
    dtype = column.dtype
    kind = getattr(dtype, "kind", "O")
    if wanted == "string":
        if pd.api.types.is_string_dtype(dtype) or (kind == "O" and _all(column, str)):
            return column
        return _refuse(label, wanted, column)
    if wanted == "binary":
        if kind == "O" and _all(column, bytes | bytearray):
            return column
        return _refuse(label, wanted, column)
    if wanted == "boolean":
        if kind == "b" or str(dtype) == "boolean" or (kind == "O" and _all(column, bool)):
            return column.astype(bool) if not has_missing else column
        return _refuse(label, wanted, column)
    if wanted == "datetime":
        if kind == "M":
            return column
        if kind == "O" or pd.api.types.is_string_dtype(dtype):
            try:
                return pd.to_datetime(column)
            except (ValueError, TypeError) as exc:
                raise ModelInputError(f"{label}: expected datetime, could not parse {exc}") from exc
        return _refuse(label, wanted, column)
    # Numbers.
    target = np.dtype(COLUMN_TYPES[wanted])
    if kind == "O" and not has_missing and _all(column, int | float) and not _any(column, bool):
        column = pd.to_numeric(column)
        kind, dtype = column.dtype.kind, column.dtype
    if kind in "iu" and target.kind == "f":
        return column.astype(target)
    if kind in "iuf" and np.can_cast(dtype, target, "safe"):
        return column.astype(target) if dtype != target else column
    if kind == "f" and target.kind == "i" and not has_missing and bool((column == column.round()).all()):
        # Whole floats (JSON numbers such as 3.0) for an integer column: exact, so allowed.
        return column.astype(target)
    if has_missing and target.kind == "i":
        raise ModelInputError(f"{label} has missing values, which an integer column ({wanted}) cannot hold")
    return _refuse(label, wanted, column)


def _all(column: Any, types: Any) -> bool:
    return all(isinstance(v, types) for v in column if v is not None)


def _any(column: Any, types: Any) -> bool:
    return any(isinstance(v, types) for v in column)


def _refuse(label: str, wanted: str, column: Any) -> Any:
    got = str(column.dtype)
    if got in ("object", "str", "string") and len(column):
        got = f"values such as {column.iloc[0]!r}"
    raise ModelInputError(f"{label}: expected {wanted}, got {got}")


# ---------------------------------------------------------------------- tensors


def _enforce_tensors(data: Any, schema: Schema) -> Any:
    import numpy as np

    specs: list[TensorSpec] = [s for s in schema.specs if isinstance(s, TensorSpec)]
    if (schema.has_names and len(specs) > 1) or isinstance(data, dict):
        if not isinstance(data, dict):
            import pandas as pd

            if isinstance(data, pd.DataFrame):
                data = {str(c): data[c].to_numpy() for c in data.columns}
            else:
                raise ModelInputError(f"expected a dict of tensors named {schema.names()}, got {type(data).__name__}")
        missing = [s.name for s in specs if s.name not in data]
        if missing:
            raise ModelInputError(f"missing input tensor(s) {missing}")
        return {s.name: _coerce_tensor(data[s.name], s, f"tensor {s.name!r}") for s in specs if s.name is not None}
    spec = specs[0]
    if not isinstance(data, np.ndarray):
        import pandas as pd

        if isinstance(data, pd.DataFrame | pd.Series):
            data = data.to_numpy()
        else:
            try:
                data = np.asarray(data)
            except ValueError as exc:
                raise ModelInputError(f"input is not a regular array: {exc}") from exc
    return _coerce_tensor(data, spec, "input tensor" if spec.name is None else f"tensor {spec.name!r}")


def _coerce_tensor(array: Any, spec: TensorSpec, label: str) -> Any:
    import numpy as np

    array = np.asarray(array)
    target = np.dtype(spec.dtype)
    if array.dtype != target:
        exact = np.can_cast(array.dtype, target, "safe") or (array.dtype.kind in "iub" and target.kind == "f")
        if not exact:
            raise ModelInputError(f"{label}: expected dtype {spec.dtype}, got {array.dtype}")
        array = array.astype(target)
    expected = spec.shape
    if len(expected) != array.ndim:
        raise ModelInputError(f"{label}: expected shape {list(expected)}, got {list(array.shape)}")
    for want, got in zip(expected, array.shape, strict=True):
        if want != -1 and want != got:
            raise ModelInputError(f"{label}: expected shape {list(expected)}, got {list(array.shape)}")
    return array


# ---------------------------------------------------------------------- params


def enforce_params(params: dict[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any] | None:
    """Params with defaults filled in; a param the schema does not declare is an error naming it."""
    if schema is None:
        return params
    given = dict(params or {})
    out: dict[str, Any] = {}
    declared = {s.name: s for s in schema.specs}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ModelInputError(f"unknown params {unknown}; the model accepts {sorted(declared)}")
    for name, spec in declared.items():
        if name not in given:
            out[name] = spec.default
            continue
        out[name] = _coerce_param(given[name], spec.type, spec.shape is not None, name)
    return out


def _coerce_param(value: Any, kind: str, is_list: bool, name: str) -> Any:
    if is_list:
        if not isinstance(value, list | tuple):
            raise ModelInputError(f"param {name!r}: expected a list of {kind}, got {type(value).__name__}")
        return [_coerce_param(v, kind, False, name) for v in value]
    ok = {
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "long": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "double": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "datetime": isinstance(value, str),
    }[kind]
    if not ok:
        raise ModelInputError(f"param {name!r}: expected {kind}, got {value!r}")
    return float(value) if kind in ("float", "double") else value
