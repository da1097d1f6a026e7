from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from dockyard.tracking.entities import LifecycleStage, Run, RunData, RunInfo, RunStatus
from dockyard.tracking.frames import runs_to_dataframe

BASE = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]


def _run(
    run_id: str = "r1",
    *,
    status: RunStatus = RunStatus.FINISHED,
    start: int | None = 1_700_000_000_000,
    end: int | None = 1_700_000_060_000,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    experiment_id: str = "0",
) -> Run:
    info = RunInfo(run_id, experiment_id, "name", "me", status, start, end, f"/art/{run_id}", LifecycleStage.ACTIVE)
    return Run(info, RunData(metrics=metrics or {}, params=params or {}, tags=tags or {}))


def test_base_columns_in_mlflow_order() -> None:
    df = runs_to_dataframe([_run()])
    assert list(df.columns) == BASE
    assert len(df) == 1


def test_values_of_one_run() -> None:
    df = runs_to_dataframe([_run("abc", status=RunStatus.KILLED, experiment_id="7")])
    row = df.iloc[0]
    assert row["run_id"] == "abc"
    assert row["experiment_id"] == "7"
    assert row["status"] == "KILLED"
    assert row["artifact_uri"] == "/art/abc"
    assert row["start_time"] == pd.Timestamp("2023-11-14 22:13:20", tz="UTC")
    assert row["end_time"] == pd.Timestamp("2023-11-14 22:14:20", tz="UTC")


def test_times_are_utc_timestamps_with_millisecond_precision() -> None:
    df = runs_to_dataframe([_run(start=1_700_000_000_123, end=1_700_000_000_999)])
    start = df.loc[0, "start_time"]
    assert isinstance(start, pd.Timestamp)
    assert str(start.tz) == "UTC"
    assert start.value // 1_000_000 == 1_700_000_000_123
    assert df.loc[0, "end_time"] - start == pd.Timedelta(milliseconds=876)
    assert isinstance(df["start_time"].dtype, pd.DatetimeTZDtype)


def test_column_order_metrics_params_tags_sorted() -> None:
    runs = [
        _run("a", metrics={"z": 1.0, "b": 2.0}, params={"y": "1"}, tags={"t2": "x"}),
        _run("b", metrics={"a": 3.0}, params={"x": "2"}, tags={"t1": "y", "mlflow.runName": "n"}),
    ]
    df = runs_to_dataframe(runs)
    assert list(df.columns) == [
        *BASE,
        "metrics.a",
        "metrics.b",
        "metrics.z",
        "params.x",
        "params.y",
        "tags.mlflow.runName",
        "tags.t1",
        "tags.t2",
    ]
    assert list(df["run_id"]) == ["a", "b"]


def test_missing_metric_is_nan_and_missing_param_or_tag_is_na() -> None:
    runs = [
        _run("a", metrics={"loss": 0.5}, params={"lr": "0.1"}, tags={"team": "x"}),
        _run("b"),
    ]
    df = runs_to_dataframe(runs)
    assert df.loc[0, "metrics.loss"] == 0.5
    assert math.isnan(df.loc[1, "metrics.loss"])
    assert df.loc[0, "params.lr"] == "0.1"
    assert pd.isna(df.loc[1, "params.lr"])
    assert df.loc[0, "tags.team"] == "x"
    assert pd.isna(df.loc[1, "tags.team"])
    assert df["metrics.loss"].dtype == "float64"


@pytest.mark.parametrize("value", [0.0, -1.5, math.inf, -math.inf, 1e300])
def test_metric_values_kept(value: float) -> None:
    df = runs_to_dataframe([_run(metrics={"m": value})])
    assert df.loc[0, "metrics.m"] == value


def test_nan_metric_value_kept() -> None:
    df = runs_to_dataframe([_run(metrics={"m": math.nan})])
    assert math.isnan(df.loc[0, "metrics.m"])


def test_same_key_in_metrics_params_tags_gets_three_columns() -> None:
    df = runs_to_dataframe([_run(metrics={"k": 1.0}, params={"k": "p"}, tags={"k": "t"})])
    assert df.loc[0, "metrics.k"] == 1.0
    assert df.loc[0, "params.k"] == "p"
    assert df.loc[0, "tags.k"] == "t"


@pytest.mark.parametrize(("start", "end"), [(None, None), (1_700_000_000_000, None)], ids=["not-started", "running"])
def test_missing_times_are_nat(start: int | None, end: int | None) -> None:
    df = runs_to_dataframe([_run(status=RunStatus.RUNNING, start=start, end=end), _run("r2")])
    if start is None:
        assert df.loc[0, "start_time"] is pd.NaT
    assert df.loc[0, "end_time"] is pd.NaT
    assert df.loc[1, "end_time"] == pd.Timestamp(1_700_000_060_000, unit="ms", tz="UTC")


def test_row_order_follows_input() -> None:
    runs = [_run(str(i)) for i in (3, 1, 2)]
    assert list(runs_to_dataframe(runs)["run_id"]) == ["3", "1", "2"]
    assert list(runs_to_dataframe(runs).index) == [0, 1, 2]


def test_empty_input_gives_base_columns_and_no_rows() -> None:
    df = runs_to_dataframe([])
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == BASE
    assert len(df) == 0


def test_accepts_any_sequence() -> None:
    assert list(runs_to_dataframe((_run("a"), _run("b")))["run_id"]) == ["a", "b"]


def test_epoch_zero_time_is_a_timestamp() -> None:
    df = runs_to_dataframe([_run(start=0, end=0)])
    assert df.loc[0, "start_time"] == pd.Timestamp(0, unit="ms", tz="UTC")
    assert df.loc[0, "end_time"] == pd.Timestamp(0, unit="ms", tz="UTC")


@pytest.mark.parametrize(
    "runs",
    [
        [_run(status=RunStatus.RUNNING, end=None)],
        [_run(status=RunStatus.RUNNING, start=None, end=None)],
    ],
    ids=["running", "not-started"],
)
def test_time_columns_are_always_utc(runs: list[Any]) -> None:
    df = runs_to_dataframe(runs)
    for column in ("start_time", "end_time"):
        assert isinstance(df[column].dtype, pd.DatetimeTZDtype), (column, df[column].dtype)
    assert pd.isna((df["end_time"] - df["start_time"]).iloc[0])


def test_without_pandas_raises_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from dockyard.core.errors import MissingExtra

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtra) as info:
        runs_to_dataframe([_run()])
    assert (info.value.package, info.value.extra) == ("pandas", "data")
    assert "pip install 'dockyard[data]'" in info.value.message
