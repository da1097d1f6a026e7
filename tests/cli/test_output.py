"""The rendering helpers in dockyard.cli.output."""

from __future__ import annotations

import json

import pytest

from dockyard.cli.output import format_duration, format_float, format_size, json_safe, pick_metric_columns
from dockyard.tracking.entities import LifecycleStage, Run, RunData, RunInfo, RunStatus


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 850, "850ms"),
        (0, 12_300, "12.3s"),
        (0, 245_000, "4m 05s"),
        (0, 2 * 3_600_000 + 7 * 60_000, "2h 07m"),
        (0, 3 * 86_400_000 + 4 * 3_600_000, "3d 04h"),
        (None, 10, "-"),
        (10, None, "-"),
        (10, 5, "-"),
    ],
)
def test_format_duration(start: int | None, end: int | None, expected: str) -> None:
    assert format_duration(start, end) == expected


def test_format_float() -> None:
    assert format_float(0.25) == "0.25"
    assert format_float(3.0) == "3"
    assert format_float(0.123456789) == "0.123457"
    assert [format_float(v) for v in (float("nan"), float("inf"), float("-inf"))] == ["NaN", "Infinity", "-Infinity"]


def test_format_size() -> None:
    assert [format_size(s) for s in (None, 5, 1536, 3 * 1024**2)] == ["-", "5 B", "1.5 KiB", "3.0 MiB"]


def test_json_safe_is_strict_json() -> None:
    value = {"a": [float("nan"), {"b": float("inf")}], "c": (float("-inf"), 1.5, None)}
    safe = json_safe(value)
    assert safe == {"a": ["NaN", {"b": "Infinity"}], "c": ["-Infinity", 1.5, None]}
    json.dumps(safe, allow_nan=False)


def _run(metrics: dict[str, float]) -> Run:
    info = RunInfo("id", "0", "n", "u", RunStatus.FINISHED, 0, 1, "/tmp", LifecycleStage.ACTIVE)
    return Run(info, RunData(metrics=metrics))


def test_pick_metric_columns() -> None:
    runs = [_run({"a": 1, "b": 1, "z": 1}), _run({"z": 2, "b": 2}), _run({"q": 1})]
    assert pick_metric_columns(runs, limit=2) == ["b", "z"]
    assert pick_metric_columns(runs, first=["q", "missing"], limit=3) == ["q", "b", "z"]
    assert pick_metric_columns([]) == []
