"""Reading the data a validation or a monitoring run is given: Parquet, CSV or JSON Lines files (or a
DataFrame), with errors that name the file, the column and the reason.

>>> import pandas as pd
>>> features, labels = split_target(pd.DataFrame({"x": [1, 2], "y": [0, 1]}), "y")
>>> list(features.columns), labels.tolist()
(['x'], [0, 1])
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.models.digest import file_digest

FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def read_table(source: Any, field: str = "data") -> tuple[Any, str]:
    """(a DataFrame, the SHA-256 digest of the data): ``source`` is a path or a DataFrame."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame = source
        digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise InvalidParameter(f"{field}: no such file {str(path)!r}")
        kind = FORMATS.get(path.suffix.lower())
        if kind is None:
            raise InvalidParameter(
                f"{field}: {path.name!r} is not a Parquet, CSV or JSON Lines file (use .parquet, .csv or .jsonl)"
            )
        frame = _read(path, kind, field)
        with path.open("rb") as fh:
            digest = file_digest(fh)
    else:
        raise InvalidParameter(f"{field}: expected a file path or a pandas DataFrame, not {type(source).__name__}")
    if len(frame) == 0 or frame.shape[1] == 0:
        raise InvalidParameter(f"{field}: the data is empty (no rows or no columns)")
    frame.columns = [str(c) for c in frame.columns]
    return frame, digest


def _read(path: Path, kind: str, field: str) -> Any:
    import pandas as pd

    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        if kind == "csv":
            return pd.read_csv(path)
        return pd.read_json(path, lines=True)
    except pd.errors.EmptyDataError:
        raise InvalidParameter(f"{field}: {path.name!r} is empty") from None
    except (ValueError, OSError, ImportError) as exc:
        raise InvalidParameter(f"{field}: cannot read {path.name!r} as {kind}: {exc}") from None


def split_target(frame: Any, target: str | None, field: str = "target") -> tuple[Any, Any]:
    """(the features, the labels) of ``frame``: ``target`` must name one of its columns."""
    if target is None:
        return frame, None
    if not isinstance(target, str) or target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:20]))
        raise InvalidParameter(f"{field}: no column {target!r} in the data (its columns: {shown})")
    labels = frame[target]
    if labels.isna().any():
        raise InvalidParameter(f"{field}: column {target!r} has {int(labels.isna().sum())} missing labels")
    return frame.drop(columns=[target]), labels
