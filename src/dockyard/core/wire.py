"""Wire helpers shared by every JSON codec (tracking, registry): MLflow's protobuf-JSON conventions for
doubles, int64s, strings, key/value lists and omitted empty fields.

>>> encode_double(float("inf"))
'Infinity'
>>> decode_int("42", "max_results")
42
>>> drop_empty({"a": 1, "b": None, "c": []})
{'a': 1}
"""

from __future__ import annotations

import math
from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.core.validation import invalid_value

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "nan": math.nan, "inf": math.inf}


def encode_double(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_double(value: Any, field: str) -> float:
    if isinstance(value, str):
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        try:
            return float(value)
        except ValueError:
            raise InvalidParameter(f"{field}: {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameter(f"{field}: expected a number, got {type(value).__name__}")
    return float(value)


def decode_int(value: Any, field: str, default: int | None = None) -> int | None:
    """int64 arrives as a JSON number or (protobuf style) a string."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidParameter(f"{field}: expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise InvalidParameter(f"{field}: {value!r} is not an integer")


def decode_str(value: Any, field: str, default: str | None = None) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidParameter(f"{field}: expected a string, got {type(value).__name__}")
    return value


def drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    """Protobuf JSON leaves out unset fields: no None, no empty list or map."""
    return {k: v for k, v in d.items() if v is not None and v != [] and v != {}}


def encode_key_values(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def decode_key_values(items: Any, field: str) -> dict[str, str]:
    return dict(key_value_pairs(items, field))


def key_value_pairs(items: Any, field: str) -> list[tuple[str, str]]:
    """``[{key, value}, ...]`` as pairs, duplicates kept (the service decides what they mean)."""
    if not items:
        return []
    if not isinstance(items, list):
        raise InvalidParameter(invalid_value(field, items))
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "key" not in item:
            raise InvalidParameter(f"{field}[{i}]: expected an object with 'key' and 'value'")
        value = item.get("value", "")
        out.append((item["key"], value if isinstance(value, str) else str(value)))
    return out
