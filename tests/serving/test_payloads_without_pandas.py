"""Request decoding where pandas is not installed (a serving bundle of numeric columns): JSON tables and
CSV become plain rows and columns; the signature check makes them one array.

``has_pandas`` is what the environment answers; here it is made to answer no, as in a bundle's fresh
environment (tests/packaging/test_fresh_venv.py runs the real one)."""

from __future__ import annotations

import pytest

from dockyard.core.errors import BadRequest
from dockyard.serving import batching, payloads


@pytest.fixture
def no_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payloads, "has_pandas", lambda: False)


@pytest.mark.usefixtures("no_pandas")
def test_a_json_table_becomes_columns() -> None:
    item = payloads.decode_request(
        b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5]]}}', "application/json"
    )
    assert item.frame() == {"a": [1], "b": [2.5]}
    second = payloads.decode_request(b'{"dataframe_records": [{"a": 3, "b": 4.0}]}', "application/json")
    assert batching.merge([payloads.decode_request(b'{"dataframe_records": [{"a": 1, "b": 2}]}', "application/json"),
                           second]) == {"a": [1, 3], "b": [2, 4.0]}  # fmt: skip


@pytest.mark.usefixtures("no_pandas")
def test_csv_is_read_without_pandas() -> None:
    item = payloads.decode_request(b"a,b,c\n1,2.5,x\n,4,5\n", "text/csv")
    assert item.rows == 2 and item.frame() == {"a": [1, None], "b": [2.5, 4], "c": ["x", 5]}
    with pytest.raises(BadRequest, match="row 2 has 1 values, the header 3"):
        payloads.decode_request(b"a,b,c\n1,2,3\n4\n", "text/csv")
    with pytest.raises(BadRequest, match="the CSV body is empty"):
        payloads.decode_request(b"  ", "text/csv")
