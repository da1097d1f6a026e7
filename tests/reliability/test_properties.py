"""Hypothesis properties of what reads untrusted input: the search-filter parser (parse/print round trip,
no exception but InvalidFilter), the wire codecs (round trips, no exception but InvalidParameter), the
scoring server's payload parsers (no exception but a DockyardError) and the artifact path checks (a
path accepted stays inside the root)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.artifacts.base import check_artifact_path
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.core.errors import DockyardError, InvalidArtifactPath, InvalidFilter, InvalidParameter
from dockyard.core.search import And, Comparison, Expr, Or, parse_filter, parse_order_by
from dockyard.tracking.entities import Metric
from dockyard.tracking.wire import decode_metric, decode_params, decode_tags, encode_metric

# Bounded and deterministic in CI (the same examples every run, no example database written into the
# tree); `--hypothesis-seed=N` with derandomize off explores further by hand.
FAST = settings(
    max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def raised(call: Callable[[], object], expected: type[DockyardError]) -> DockyardError | None:
    """The ``expected`` error ``call`` raised, or None; any other exception fails the test."""
    try:
        call()
    except expected as exc:
        return exc
    return None


# ---------------------------------------------------------------------------------- the search filter

PREFIX = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attributes", "dataset": "datasets"}


def quote(text: str, mark: str = "'") -> str:
    """``text`` as a quoted token of the filter grammar (the quote doubled, a backslash escaped)."""
    return mark + text.replace("\\", "\\\\").replace(mark, mark * 2) + mark


def print_filter(expr: Expr) -> str:
    """The text of a parsed filter: parsing it gives ``expr`` back."""
    if isinstance(expr, (And, Or)):
        joiner = " AND " if isinstance(expr, And) else " OR "
        return joiner.join(f"({print_filter(item)})" for item in expr.items)
    assert isinstance(expr, Comparison)
    value = expr.value
    if isinstance(value, tuple):
        shown = "(" + ", ".join(quote(v) for v in value) + ")"
    elif isinstance(value, str):
        shown = quote(value)
    else:
        shown = repr(value)
    return f"{PREFIX[expr.entity]}.{quote(expr.key, '`')} {expr.op} {shown}"


keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
words = st.sampled_from(
    ["loss", "acc", "run_name", "status", "start_time", "end_time", "run_id", "user_id", "name", "digest", "context"]
)
identifiers = st.one_of(
    st.builds(lambda p, k: f"{p}.{quote(k, '`')}", st.sampled_from(sorted(PREFIX.values())), keys),
    st.builds(lambda p, w: f"{p}.{w}", st.sampled_from(sorted(PREFIX.values())), words),
    words,
)
ops = st.sampled_from(["=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "like", "not in"])
values = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=10).map(quote),
    st.text(max_size=10).map(lambda s: quote(s, '"')),
    st.lists(st.text(max_size=6).map(quote), min_size=1, max_size=3).map(lambda v: "(" + ", ".join(v) + ")"),
)
comparisons = st.builds(lambda i, o, v: f"{i} {o} {v}", identifiers, ops, values)
filters = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} AND {b}", inner, inner),
        st.builds(lambda a, b: f"{a} OR {b}", inner, inner),
        inner.map(lambda f: f"({f})"),
    ),
    max_leaves=6,
)


@FAST
@given(filters, st.sampled_from(["runs", "experiments"]))
def test_a_parsed_filter_prints_to_text_that_parses_to_it_again(text: str, kind: str) -> None:
    try:
        expr = parse_filter(text, kind)
    except InvalidFilter:
        return  # most generated filters mix the wrong types: rejected, which is the other property
    assert expr is not None
    assert parse_filter(print_filter(expr), kind) == expr


garbled = st.one_of(st.text(max_size=200), filters.map(lambda f: f[: len(f) // 2]))


@FAST
@given(garbled, st.sampled_from(["runs", "experiments"]))
def test_the_filter_parser_raises_only_invalid_filter(text: str, kind: str) -> None:
    error = raised(lambda: parse_filter(text, kind), InvalidFilter)
    assert error is None or (error.http_status == 400 and error.message)


@FAST
@given(st.lists(st.one_of(st.text(max_size=40), identifiers.map(lambda i: i + " DESC")), max_size=4))
def test_order_by_raises_only_invalid_filter(clauses: list[str]) -> None:
    raised(lambda: parse_order_by(clauses), InvalidFilter)


# ----------------------------------------------------------------------------------------- wire codecs

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
metrics = st.builds(
    Metric,
    key=st.text(min_size=1, max_size=20),
    value=st.floats(),
    timestamp=st.integers(0, 2**62),
    step=st.integers(-(2**62), 2**62),
)


def same_metric(a: Metric, b: Metric) -> bool:
    values_equal = (math.isnan(a.value) and math.isnan(b.value)) or a.value == b.value
    return values_equal and (a.key, a.timestamp, a.step) == (b.key, b.timestamp, b.step)


@FAST
@given(metrics)
def test_a_metric_survives_the_wire(metric: Metric) -> None:
    # Through real JSON text, as the server and its clients exchange it (no bare NaN on the wire).
    text = json.dumps(encode_metric(metric), allow_nan=False)
    assert same_metric(decode_metric(json.loads(text)), metric)


@FAST
@given(
    st.one_of(
        json_values,
        st.dictionaries(st.sampled_from(["key", "value", "timestamp", "step", "run_id"]), json_values, max_size=5),
    )
)
def test_metric_decoding_raises_only_invalid_parameter(payload: Any) -> None:
    error = raised(lambda: decode_metric(payload), InvalidParameter)
    assert error is None or "metric" in error.message  # the error names the field


@FAST
@given(json_values)
def test_params_and_tags_decoding_raise_only_invalid_parameter(payload: Any) -> None:
    raised(lambda: decode_params(payload), InvalidParameter)
    raised(lambda: decode_tags(payload), InvalidParameter)


# ------------------------------------------------------------------------- scoring server payloads

content_types = st.sampled_from(
    ["application/json", "text/csv", "application/json; format=pandas-split", "text/plain", "", "application/xml"]
)
payload_keys = st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs", "params", "columns"])
scoring_payloads = st.one_of(
    json_values,
    st.dictionaries(payload_keys, json_values, max_size=2),
    st.builds(
        lambda cols, rows: {"dataframe_split": {"columns": cols, "data": rows}},
        st.lists(st.text(max_size=4), max_size=3),
        st.lists(st.lists(json_values, max_size=3), max_size=3),
    ),
)


@FAST
@given(
    st.one_of(scoring_payloads.map(lambda p: json.dumps(p).encode()), st.binary(max_size=200)),
    content_types,
)
def test_scoring_payload_decoding_raises_only_dockyard_errors(body: bytes, content_type: str) -> None:
    pytest.importorskip("pandas")
    from dockyard.serving.payloads import decode_request

    error = raised(lambda: decode_request(body, content_type), DockyardError)
    assert error is None or 400 <= error.http_status < 500, error  # the request's fault, never the server's


@FAST
@given(st.dictionaries(payload_keys, json_values, max_size=3))
def test_open_inference_payload_decoding_raises_only_dockyard_errors(payload: dict[str, Any]) -> None:
    from dockyard.serving.v2 import decode_infer

    error = raised(lambda: decode_infer(payload, None), DockyardError)
    assert error is None or 400 <= error.http_status < 500, error


# ----------------------------------------------------------------------------------- artifact paths

path_parts = st.one_of(
    st.sampled_from(["..", ".", "", "a", "b.txt", "C:", "c:x", "\\", "//", "~", "\x00", "%2e%2e", "…"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
)
paths = st.lists(path_parts, max_size=6).flatmap(
    lambda parts: st.sampled_from(["/", "\\"]).map(lambda sep: sep.join(parts))
)


@FAST
@given(paths)
def test_an_accepted_artifact_path_is_relative_and_never_climbs(path: str) -> None:
    error = raised(lambda: check_artifact_path(path), InvalidArtifactPath)
    if error is not None:
        assert "artifact_path" in error.message
        return
    checked = check_artifact_path(path)
    assert "\\" not in checked and "\x00" not in checked
    if checked:
        assert all(part not in ("", ".", "..") for part in checked.split("/")), checked  # never starts with /
    assert check_artifact_path(checked) == checked  # the normal form is a fixed point


@settings(FAST, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths)
def test_the_folder_store_never_writes_outside_its_root(tmp_path: Path, path: str) -> None:
    sandbox = tmp_path / "sandbox"
    root = sandbox / "root"
    root.mkdir(parents=True, exist_ok=True)
    store = LocalArtifactStore(root)
    try:
        store.write_bytes(path or "x", b"data")
    except DockyardError:
        return
    except OSError:
        return  # a name the file system refuses (too long, ...): nothing written
    outside = [p for p in sandbox.rglob("*") if not str(p).startswith(str(root) + os.sep) and p != root]
    assert outside == []
