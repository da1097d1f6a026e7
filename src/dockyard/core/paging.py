"""Opaque page tokens: base64 of a small JSON object.

Searches page by offset (``{"offset": N}``, as MLflow's SQL store does, so tokens look alike); metric
histories page by key (``{"after": [step, timestamp, id]}``), so reading page 40 of a million-point
history costs the same as reading page 1.

>>> decode_token(encode_token({"offset": 10}))
{'offset': 10}
>>> offset_from_token("")
0
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dockyard.core.errors import InvalidParameter

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the opaque token of the next ("" when there is none)."""

    items: list[T]
    next_page_token: str = ""

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


def encode_token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise InvalidParameter(f"page_token {token!r} is invalid: not a token this server issued") from None
    if not isinstance(payload, dict):
        raise InvalidParameter(f"page_token {token!r} is invalid: not a token this server issued")
    return payload


def offset_from_token(token: str | None) -> int:
    if not token:
        return 0
    offset = decode_token(token).get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 2**63:
        raise InvalidParameter(f"page_token {token!r} is invalid: bad offset")
    return offset


def next_offset_token(offset: int, page_size: int, has_more: bool) -> str:
    return encode_token({"offset": offset + page_size}) if has_more else ""
