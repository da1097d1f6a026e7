"""Input examples, stored as MLflow stores them.

``input_example.json`` holds the example itself (a DataFrame in pandas' ``split`` orient, an array as
nested lists, a dict of arrays or a JSON object as an object) and ``serving_input_example.json`` the
same example as a request body for ``/invocations``. ``saved_input_example_info`` in ``MLmodel``
says which kind it is, so it can be read back as what was given.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidModel, InvalidParameter

EXAMPLE_FILE = "input_example.json"
SERVING_EXAMPLE_FILE = "serving_input_example.json"


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else value
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def to_example(example: Any) -> tuple[dict[str, Any], Any, Any]:
    """``(info, input_example.json content, serving body)`` for an example."""
    import numpy as np

    pandas = _pandas()
    if pandas is not None and isinstance(example, pandas.Series):
        example = example.to_frame()
    if pandas is not None and isinstance(example, pandas.DataFrame):
        split = {"columns": [str(c) for c in example.columns], "data": _jsonable(example.to_numpy().tolist())}
        info = {"artifact_path": EXAMPLE_FILE, "type": "dataframe", "pandas_orient": "split"}
        return info, split, {"dataframe_split": split}
    if isinstance(example, np.ndarray):
        data = _jsonable(example)
        return {"artifact_path": EXAMPLE_FILE, "type": "ndarray"}, data, {"inputs": data}
    if isinstance(example, dict) and example and all(isinstance(v, np.ndarray) for v in example.values()):
        data = _jsonable(example)
        return {"artifact_path": EXAMPLE_FILE, "type": "ndarray"}, data, {"inputs": data}
    if isinstance(example, dict):
        data = _jsonable(example)
        return {"artifact_path": EXAMPLE_FILE, "type": "json_object"}, data, {"inputs": data}
    if isinstance(example, list | tuple):
        if example and all(isinstance(row, dict) for row in example) and pandas is not None:
            return to_example(pandas.DataFrame(list(example)))
        data = _jsonable(list(example))
        return {"artifact_path": EXAMPLE_FILE, "type": "json_object"}, data, {"inputs": data}
    if isinstance(example, str | int | float | bool):
        return {"artifact_path": EXAMPLE_FILE, "type": "json_object"}, example, {"inputs": example}
    raise InvalidParameter(
        f"input_example of type {type(example).__name__} is not supported: use a DataFrame, a numpy array, "
        "a dict or a list"
    )


def save_example(directory: Path, example: Any) -> dict[str, Any]:
    """Write both example files; return ``saved_input_example_info`` for ``MLmodel``."""
    info, content, serving = to_example(example)
    (directory / EXAMPLE_FILE).write_text(json.dumps(content), encoding="utf-8")
    (directory / SERVING_EXAMPLE_FILE).write_text(json.dumps(serving, indent=2), encoding="utf-8")
    info["serving_input_path"] = SERVING_EXAMPLE_FILE
    return info


def load_example(directory: Path, info: dict[str, Any] | None) -> Any:
    """The input example saved with a model, as the kind it was saved as (None when there is none)."""
    if not info:
        return None
    path = directory / str(info.get("artifact_path", EXAMPLE_FILE))
    if not path.is_file():
        raise InvalidModel(f"model directory {directory} is missing file {path.name} (its input example)")
    content = json.loads(path.read_text(encoding="utf-8"))
    kind = info.get("type")
    if kind == "dataframe":
        if isinstance(content, dict) and "dataframe_split" in content:
            content = content["dataframe_split"]
        pd = _pandas()
        if pd is None:  # a serving bundle without pandas: the table as a dict of columns
            if info.get("pandas_orient", "split") == "records":
                return {name: [row.get(name) for row in content] for name in (content[0] if content else {})}
            return {name: [row[i] for row in content["data"]] for i, name in enumerate(content["columns"])}
        if info.get("pandas_orient", "split") == "records":
            return pd.DataFrame(content)
        return pd.DataFrame(content["data"], columns=content["columns"], index=content.get("index"))
    if kind == "ndarray":
        import numpy as np

        if isinstance(content, dict) and set(content) == {"inputs"}:
            content = content["inputs"]
        if isinstance(content, dict):
            return {k: np.asarray(v) for k, v in content.items()}
        return np.asarray(content)
    return content


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        return None
    return pandas
