"""The Open Inference Protocol (KServe / MLServer "v2") REST payloads for one model.

An infer request names its inputs, each with a ``shape``, a ``datatype`` and flat (or nested) ``data``.
For a model with a column signature, each input is a column (``shape`` ``[n]`` or ``[n, 1]``), or one
input of shape ``[n, k]`` holds all ``k`` columns in the signature's order. For a tensor signature,
inputs are the tensors (one unnamed tensor takes the first input whatever its name). Outputs are one
entry per column of a DataFrame, per key of a dict, or a single ``predict`` tensor.

    >>> item = decode_infer({"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1, 2]}]}, None)
    >>> item.data.to_dict("list")
    {'x': [1.0, 2.0]}
    >>> encode_outputs(__import__("numpy").array([0, 1]))
    [{'name': 'predict', 'shape': [2], 'datatype': 'INT64', 'data': [0, 1]}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.core.errors import BadRequest
from dockyard.models.enforce import has_pandas
from dockyard.models.signature import TensorSpec
from dockyard.serving.payloads import Inputs, jsonable

if TYPE_CHECKING:
    from dockyard.models.signature import Schema

DATATYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_BY_DTYPE = {v: k for k, v in DATATYPES.items()}
_COLUMN_DATATYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}


def _tensor(entry: Any, position: int) -> tuple[str, Any]:
    import numpy as np

    if not isinstance(entry, dict):
        raise BadRequest(f"inputs[{position}] must be an object with name, shape, datatype and data")
    name, shape, datatype, data = (entry.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise BadRequest(f"inputs[{position}]: 'name' must be a non-empty string")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise BadRequest(f"input {name!r}: 'shape' must be a list of non-negative integers")
    if datatype not in DATATYPES:
        raise BadRequest(f"input {name!r}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}")
    if not isinstance(data, list):
        raise BadRequest(f"input {name!r}: 'data' must be a list")
    try:
        array = np.asarray(data, dtype=DATATYPES[datatype])
        array = array.reshape(shape)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"input {name!r}: data does not fit shape {shape} of {datatype}: {exc}") from None
    return name, array


def decode_infer(payload: Any, schema: Schema | None) -> Inputs:
    """The model input of an infer request body (already parsed JSON)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list) or not payload["inputs"]:
        raise BadRequest("an infer request must be a JSON object with a non-empty 'inputs' list")
    params = payload.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise BadRequest("'parameters' must be a JSON object")
    params = {k: v for k, v in (params or {}).items() if k not in ("content_type", "headers")} or None
    tensors = dict(_tensor(entry, i) for i, entry in enumerate(payload["inputs"]))
    if schema is not None and schema.is_tensor:
        if not schema.has_names:
            array = next(iter(tensors.values()))
            return Inputs(array, params, rows=len(array) if array.ndim else None)
        return Inputs(tensors, params, rows=_rows(tensors))
    if len(tensors) == 1:
        name, array = next(iter(tensors.items()))
        if array.ndim == 2 and schema is not None and array.shape[1] == len(schema) > 1:
            if not has_pandas():  # the signature check takes the columns by position
                return Inputs(array, params, rows=len(array))
            import pandas as pd

            return Inputs(pd.DataFrame(array, columns=schema.names()), params, rows=len(array))
    columns = {}
    for name, array in tensors.items():
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise BadRequest(f"input {name!r}: a column must have shape [n] or [n, 1], got {list(array.shape)}")
        columns[name] = array
    if len({len(a) for a in columns.values()}) > 1:
        raise BadRequest("every column input must have the same number of rows")
    rows = len(next(iter(columns.values()))) if columns else 0
    if not has_pandas():
        return Inputs(columns, params, rows=rows)
    import pandas as pd

    return Inputs(pd.DataFrame(columns), params, rows=rows)


def _rows(tensors: dict[str, Any]) -> int | None:
    lengths = {len(a) for a in tensors.values() if a.ndim}
    return lengths.pop() if len(lengths) == 1 and all(a.ndim for a in tensors.values()) else None


def _output(name: str, value: Any) -> dict[str, Any]:
    import numpy as np

    array = np.asarray(value)
    kind = str(array.dtype)
    datatype = _BY_DTYPE.get(kind) or ("BYTES" if array.dtype.kind in "OUS" else "FP64")
    data = [str(v) for v in array.reshape(-1).tolist()] if datatype == "BYTES" else jsonable(array.reshape(-1))
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}


def encode_outputs(predictions: Any) -> list[dict[str, Any]]:
    if hasattr(predictions, "columns") and hasattr(predictions, "iloc"):
        return [_output(str(c), predictions[c].to_numpy()) for c in predictions.columns]
    if isinstance(predictions, dict):
        return [_output(str(k), v) for k, v in predictions.items()]
    if hasattr(predictions, "to_numpy"):
        predictions = predictions.to_numpy()
    return [_output("predict", predictions)]


def model_metadata(name: str, version: str | None, schema: Schema | None, outputs: Schema | None) -> dict[str, Any]:
    """``GET /v2/models/{name}``: name, versions, platform and the tensors the signature describes."""
    return {
        "name": name,
        "versions": [version] if version else [],
        "platform": "dockyard",
        "inputs": _specs(schema),
        "outputs": _specs(outputs),
    }


def _specs(schema: Schema | None) -> list[dict[str, Any]]:
    if schema is None:
        return []
    out = []
    for position, spec in enumerate(schema.specs):
        name = spec.name or ("predict" if position == 0 else f"output_{position}")
        if isinstance(spec, TensorSpec):
            out.append({"name": name, "datatype": _BY_DTYPE.get(spec.dtype, "BYTES"), "shape": list(spec.shape)})
        else:
            kind = spec.type if isinstance(spec.type, str) else "string"
            out.append({"name": name, "datatype": _COLUMN_DATATYPES.get(kind, "BYTES"), "shape": [-1]})
    return out
