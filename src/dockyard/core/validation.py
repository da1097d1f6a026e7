"""Validation primitives every service uses: keys, bounded strings, 64-bit integers, page sizes. Every
error names the field and the reason.

>>> check_key("val/loss", "metric key")
'val/loss'
>>> check_max_results(0, 100)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
dockyard.core.errors.InvalidParameter: Invalid value 0 for parameter 'max_results' supplied. It must be ...

The request-level messages use MLflow's wording, which its users and tools look for:

>>> print(invalid_value("name", 123))  # doctest: +ELLIPSIS
Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs ...
>>> print(missing_value("metrics[0].timestamp"))  # doctest: +ELLIPSIS
Missing value for required parameter 'metrics[0].timestamp'. See the API docs ...
"""

from __future__ import annotations

import json
import math
import numbers
import posixpath
import re
from typing import Any

from dockyard.core.errors import InvalidParameter

MAX_KEY_LENGTH = 250

_KEY = re.compile(r"[\w./\- :]+")
API_DOCS = " See the API docs for more information about request parameters."


def invalid_value(field: str, value: Any) -> str:
    """MLflow's message for a request field of the wrong JSON type (the value as JSON, then its type)."""
    try:
        shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        shown = repr(value)
    kind = type(value).__name__
    return f"Invalid value {shown} for parameter '{field}' supplied:  Hint: Value was of type '{kind}'.{API_DOCS}"


def missing_value(field: str) -> str:
    """MLflow's message for a required request field that is absent or empty."""
    return f"Missing value for required parameter '{field}'.{API_DOCS}"


def check_key(key: Any, field: str) -> str:
    if not isinstance(key, str):
        raise InvalidParameter(f"{field} must be a string, got {type(key).__name__}")
    if not key:
        raise InvalidParameter(f"{field} must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidParameter(f"{field} {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}")
    if not _KEY.fullmatch(key):
        raise InvalidParameter(
            f"{field} {key!r} is invalid: use letters, digits, underscores, dashes, periods, spaces, colons and slashes"
        )
    if ("." in key or "/" in key) and (
        key == "." or posixpath.normpath(key) != key or key.startswith("/") or ".." in key.split("/")
    ):
        raise InvalidParameter(f"{field} {key!r} is invalid: it must not be a relative path like '..' or './'")
    return key


def check_string(value: Any, field: str, limit: int, *, allow_empty: bool = True) -> str:
    """Params and tags take any value and store ``str(value)``, as MLflow does; the length is checked."""
    text = value if isinstance(value, str) else str(value)
    if not allow_empty and not text:
        raise InvalidParameter(f"{field} must not be empty")
    if len(text) > limit:
        raise InvalidParameter(f"{field} is {len(text)} characters; the limit is {limit}")
    return text


def check_int(value: Any, field: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if (
            isinstance(value, numbers.Real)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and float(value).is_integer()
        ):
            value = int(float(value))
        else:
            raise InvalidParameter(f"{field} must be an integer, got {type(value).__name__} {value!r}")
    result = int(value)
    if minimum is not None and result < minimum:
        raise InvalidParameter(f"{field} must be at least {minimum}, got {result}")
    if not -(2**63) <= result < 2**63:
        raise InvalidParameter(f"{field} {result} does not fit in a 64-bit integer")
    return result


def check_max_results(value: Any, cap: int, field: str = "max_results") -> int:
    """A page size from 1 to ``cap``; the message names the value as MLflow's does."""
    result = check_int(value, field)
    if result < 1:
        raise InvalidParameter(
            f"Invalid value {result} for parameter '{field}' supplied. It must be a positive integer"
        )
    if result > cap:
        raise InvalidParameter(f"Invalid value {result} for parameter '{field}' supplied. It must be at most {cap}")
    return result
