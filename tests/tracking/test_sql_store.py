"""Store details the contract does not see: how metrics are laid out and kept current."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dockyard.db import Database
from dockyard.tracking.entities import Metric
from dockyard.tracking.sql_store import SqlTrackingStore


@pytest.fixture
def store(db_uri: str, artifact_root: Path) -> Iterator[SqlTrackingStore]:
    db = Database(db_uri)
    yield SqlTrackingStore(db, artifact_root=str(artifact_root))
    db.dispose()


def _rows(store: SqlTrackingStore, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with store.db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def test_points_reference_one_series_per_run_and_key(store: SqlTrackingStore) -> None:
    run_id = store.create_run("0", "u", 1, "r", []).info.run_id
    store.log_batch(run_id, [Metric("a", 1.0, 1, 0), Metric("b", 2.0, 1, 0), Metric("a", 3.0, 2, 1)], [], [])
    store.log_batch(run_id, [Metric("a", 4.0, 3, 2)], [], [])
    series = _rows(store, "SELECT key, series_id FROM latest_metrics ORDER BY key")
    assert [k for k, _ in series] == ["a", "b"]
    counts = dict(_rows(store, "SELECT series_id, count(*) FROM metrics GROUP BY series_id"))
    assert counts == {series[0][1]: 3, series[1][1]: 1}


@pytest.mark.parametrize(
    ("points", "latest"),
    [
        ([(0, 10, 1.0), (1, 5, 2.0)], 2.0),  # higher step wins over a later timestamp
        ([(1, 5, 2.0), (0, 10, 1.0)], 2.0),  # arriving out of order does not move it back
        ([(1, 5, 2.0), (1, 6, 1.0)], 1.0),  # same step: later timestamp wins
        ([(1, 5, 2.0), (1, 5, 3.0)], 3.0),  # same step and time: larger value wins
        ([(1, 5, 2.0), (2, 5, math.nan)], math.nan),  # NaN is a value like any other
    ],
)
def test_latest_value_follows_mlflow_order(store: SqlTrackingStore, points: list, latest: float) -> None:  # type: ignore[type-arg]
    run_id = store.create_run("0", "u", 1, "r", []).info.run_id
    for step, ts, value in points:  # one batch each: the upsert, not the in-batch pick, decides
        store.log_batch(run_id, [Metric("m", value, ts, step)], [], [])
    got = store.get_run(run_id).data.metrics["m"]
    assert (math.isnan(got) and math.isnan(latest)) or got == latest


def test_nan_is_stored_as_null(store: SqlTrackingStore) -> None:
    run_id = store.create_run("0", "u", 1, "r", []).info.run_id
    store.log_batch(run_id, [Metric("m", math.nan, 1, 0), Metric("m", 1.0, 1, 1)], [], [])
    assert _rows(store, "SELECT value FROM metrics ORDER BY step") == [(None,), (1.0,)]


def test_search_filter_on_metric_ignores_nan(store: SqlTrackingStore) -> None:
    from dockyard.core.search import parse_filter
    from dockyard.tracking.entities import ViewType

    run_id = store.create_run("0", "u", 1, "r", []).info.run_id
    store.log_batch(run_id, [Metric("m", math.nan, 1, 0)], [], [])
    found = store.search_runs(["0"], parse_filter("metrics.m < 1e308"), ViewType.ALL, 10, [], None)
    assert found.items == []


def test_deleting_a_run_row_cascades(store: SqlTrackingStore) -> None:
    run_id = store.create_run("0", "u", 1, "r", []).info.run_id
    store.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [], [])
    with store.db.write() as conn:
        conn.execute(sa.text("DELETE FROM runs WHERE run_uuid = :run_id"), {"run_id": run_id})
    assert _rows(store, "SELECT count(*) FROM metrics") == [(0,)]
    assert _rows(store, "SELECT count(*) FROM latest_metrics") == [(0,)]
