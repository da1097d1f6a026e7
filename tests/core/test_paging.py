from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from dockyard.core.errors import InvalidParameter
from dockyard.core.paging import decode_token, encode_token, next_offset_token, offset_from_token


def _raw(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(data).decode()


# ---------------------------------------------------------------------- encode / decode


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"offset": 0},
        {"offset": 10},
        {"offset": 2**62},
        {"after": [3, 1700000000000, 42]},
        {"after": [-1, 0, 1], "key": "val/loss"},
        {"unicode": "é日本", "nested": {"a": [1, 2.5, None, True]}},
    ],
)
def test_round_trip(payload: dict[str, Any]) -> None:
    token = encode_token(payload)
    assert isinstance(token, str)
    assert decode_token(token) == payload


def test_encoding_is_compact_urlsafe_base64_json() -> None:
    token = encode_token({"offset": 10})
    assert token == "eyJvZmZzZXQiOjEwfQ=="
    assert base64.urlsafe_b64decode(token) == b'{"offset":10}'


def test_token_is_url_safe() -> None:
    # enough payload to exercise every base64 character
    token = encode_token({"k": "".join(chr(c) for c in range(32, 1200))})
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def test_encoding_is_deterministic() -> None:
    assert encode_token({"after": [1, 2, 3]}) == encode_token({"after": [1, 2, 3]})


@pytest.mark.parametrize("payload", [{"offset": 1}, {"offset": 12}, {"offset": 123}, {"after": [1, 2, 3]}])
def test_decode_accepts_stripped_padding(payload: dict[str, Any]) -> None:
    token = encode_token(payload).rstrip("=")
    assert decode_token(token) == payload


def test_decode_accepts_standard_padding_variants() -> None:
    token = encode_token({"offset": 10})
    assert token.endswith("==")
    assert decode_token(token) == {"offset": 10}


@pytest.mark.parametrize(
    "token",
    [
        "!!!!",
        "not a token",
        "e",
        "é",
        _raw("not json"),
        _raw(""),
        _raw(b"\xff\xfe\x00"),
        _raw("{'offset': 1}"),
        _raw('{"offset": 1'),
    ],
)
def test_garbage_tokens_are_invalid_parameter(token: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        decode_token(token)
    assert info.value.message == f"page_token {token!r} is invalid: not a token this server issued"


@pytest.mark.parametrize("json_text", ["[1, 2]", "10", '"offset"', "null", "true", "1.5"])
def test_non_object_json_is_invalid(json_text: str) -> None:
    token = _raw(json_text)
    with pytest.raises(InvalidParameter) as info:
        decode_token(token)
    assert info.value.message == f"page_token {token!r} is invalid: not a token this server issued"


def test_deeply_nested_token_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="page_token"):
        decode_token(_raw("[" * 100_000))


# ---------------------------------------------------------------------- offsets


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_means_offset_zero(token: str | None) -> None:
    assert offset_from_token(token) == 0


@pytest.mark.parametrize("offset", [0, 1, 100, 49_999, 10**9])
def test_offset_round_trip(offset: int) -> None:
    assert offset_from_token(encode_token({"offset": offset})) == offset


def test_offset_ignores_extra_fields() -> None:
    assert offset_from_token(encode_token({"offset": 5, "other": "x"})) == 5


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"offset": None},
        {"offset": -1},
        {"offset": 1.0},
        {"offset": 1.5},
        {"offset": "10"},
        {"offset": True},
        {"offset": False},
        {"offset": [1]},
        {"after": [1, 2, 3]},
    ],
)
def test_bad_offsets_are_invalid_parameter(payload: dict[str, Any]) -> None:
    token = encode_token(payload)
    with pytest.raises(InvalidParameter) as info:
        offset_from_token(token)
    assert info.value.message == f"page_token {token!r} is invalid: bad offset"


@pytest.mark.parametrize("token", ["!!!!", _raw("[0]")])
def test_offset_from_garbage_token(token: str) -> None:
    with pytest.raises(InvalidParameter, match="not a token this server issued"):
        offset_from_token(token)


def test_offset_beyond_64_bits_is_invalid() -> None:
    with pytest.raises(InvalidParameter, match="bad offset"):
        offset_from_token(encode_token({"offset": 10**30}))


# ---------------------------------------------------------------------- next tokens


@pytest.mark.parametrize(("offset", "size", "expected"), [(0, 10, 10), (10, 10, 20), (0, 1, 1), (990, 1000, 1990)])
def test_next_offset_token_when_more(offset: int, size: int, expected: int) -> None:
    token = next_offset_token(offset, size, True)
    assert token == encode_token({"offset": expected})
    assert offset_from_token(token) == expected
    assert json.loads(base64.urlsafe_b64decode(token)) == {"offset": expected}


@pytest.mark.parametrize(("offset", "size"), [(0, 10), (10, 10), (500, 1)])
def test_next_offset_token_empty_when_last_page(offset: int, size: int) -> None:
    assert next_offset_token(offset, size, False) == ""


def test_paging_through_by_tokens_visits_every_item_once() -> None:
    items = list(range(23))
    seen: list[int] = []
    token: str | None = None
    pages = 0
    while True:
        offset = offset_from_token(token)
        page = items[offset : offset + 5]
        seen.extend(page)
        pages += 1
        token = next_offset_token(offset, 5, offset + 5 < len(items))
        if not token:
            break
    assert seen == items
    assert pages == 5
