"""Describe a dataset for ``log_input``: a content digest, a schema, a profile and a source.

Works on pandas DataFrames, numpy arrays, and parquet or CSV files (read with pandas). The digest is
a SHA-256 over the content and the schema, so the same data gives the same digest on any machine, and
one changed value gives another. The schema follows MLflow's column-spec JSON so its UI can show it.

>>> import numpy as np
>>> ds = from_numpy(np.zeros((3, 2)), name="zeros")
>>> ds.name, len(ds.digest), json.loads(ds.profile)["num_rows"]
('zeros', 16, 3)
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from dockyard.core.errors import InvalidParameter, MissingExtra
from dockyard.tracking.entities import Dataset

DIGEST_LENGTH = 16

_PANDAS_TYPES = {
    "b": "boolean",
    "i": "long",
    "u": "long",
    "f": "double",
    "M": "datetime",
    "O": "string",
    "U": "string",
    "S": "binary",
}


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _source(source: str | None, default: str) -> tuple[str, str]:
    uri = source or default
    source_type = "local" if uri.startswith(("/", "file:", ".")) or os.path.exists(uri) else "code"
    if "://" in uri and not uri.startswith("file:"):
        source_type = uri.split("://", 1)[0]
    return source_type, _dumps({"uri": uri})


def _column_type(series: Any) -> str:
    kind = series.dtype.kind
    if kind == "O":
        values = series.dropna()
        if len(values) and all(isinstance(v, (bytes, bytearray)) for v in values):
            return "binary"
    return _PANDAS_TYPES.get(kind, "string")


def _content_hash(pd: Any, df: Any) -> bytes:
    """Row hashes of the frame; cells pandas cannot hash (lists, dicts, arrays) are hashed by repr."""
    try:
        return bytes(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    except TypeError:
        as_text = df.apply(lambda col: col.map(repr) if col.dtype.kind == "O" else col)
        return bytes(pd.util.hash_pandas_object(as_text, index=True).to_numpy().tobytes())


def from_pandas(df: Any, *, source: str | None = None, name: str | None = None, targets: str | None = None) -> Dataset:
    """A :class:`Dataset` for a pandas DataFrame."""
    try:
        import pandas as pd
    except ImportError:
        raise MissingExtra("pandas", "data") from None
    if not isinstance(df, pd.DataFrame):
        raise InvalidParameter(f"from_pandas: expected a pandas DataFrame, got {type(df).__name__}")
    if targets is not None and targets not in df.columns:
        raise InvalidParameter(f"from_pandas: targets column {targets!r} is not in the DataFrame")
    columns = [{"name": str(col), "type": _column_type(df[col]), "required": True} for col in df.columns]
    schema = _dumps({"mlflow_colspec": columns})
    h = hashlib.sha256(schema.encode())
    h.update(_content_hash(pd, df))
    profile: dict[str, Any] = {"num_rows": len(df), "num_elements": int(df.size)}
    if targets is not None:
        profile["targets"] = targets
    source_type, source_json = _source(source, "pandas.DataFrame")
    return Dataset(
        name=name or "dataset",
        digest=h.hexdigest()[:DIGEST_LENGTH],
        source_type=source_type,
        source=source_json,
        schema=schema,
        profile=_dumps(profile),
    )


def from_numpy(array: Any, *, source: str | None = None, name: str | None = None) -> Dataset:
    """A :class:`Dataset` for a numpy array (its dtype and shape are the schema)."""
    try:
        import numpy as np
    except ImportError:
        raise MissingExtra("numpy", "data") from None
    if not isinstance(array, np.ndarray):
        raise InvalidParameter(f"from_numpy: expected a numpy ndarray, got {type(array).__name__}")
    schema = _dumps({"mlflow_tensorspec": {"dtype": str(array.dtype), "shape": [-1, *array.shape[1:]]}})
    h = hashlib.sha256(schema.encode())
    h.update(np.ascontiguousarray(array).tobytes() if array.dtype != object else repr(array.tolist()).encode())
    source_type, source_json = _source(source, "numpy.ndarray")
    return Dataset(
        name=name or "dataset",
        digest=h.hexdigest()[:DIGEST_LENGTH],
        source_type=source_type,
        source=source_json,
        schema=schema,
        profile=_dumps({"num_rows": int(array.shape[0]) if array.ndim else 1, "num_elements": int(array.size)}),
    )


def from_path(path: str | os.PathLike[str], *, name: str | None = None, targets: str | None = None) -> Dataset:
    """A :class:`Dataset` for a parquet or CSV file, read with pandas; the source is the file's path."""
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise InvalidParameter(f"dataset path {text!r} is not a file")
    try:
        import pandas as pd
    except ImportError:
        raise MissingExtra("pandas", "data") from None
    lower = text.lower()
    if lower.endswith((".parquet", ".pq")):
        df = pd.read_parquet(text)
    elif lower.endswith((".csv", ".csv.gz")):
        df = pd.read_csv(text)
    else:
        raise InvalidParameter(f"dataset path {text!r}: only .parquet and .csv files are supported")
    return from_pandas(
        df,
        source=os.path.abspath(text),
        name=name or os.path.basename(text).split(".")[0],
        targets=targets,
    )


def to_dataset(data: Any, *, name: str | None = None, source: str | None = None, targets: str | None = None) -> Dataset:
    """Whatever ``log_input`` was given, as a :class:`Dataset`."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        return from_path(data, name=name, targets=targets)
    module = type(data).__module__.split(".", 1)[0]
    if module == "pandas":
        return from_pandas(data, source=source, name=name, targets=targets)
    if module == "numpy":
        return from_numpy(data, source=source, name=name)
    raise InvalidParameter(
        f"log_input: cannot describe a {type(data).__name__}; pass a pandas DataFrame, a numpy array, "
        "a .parquet/.csv path or a dockyard Dataset"
    )
