"""Metric points in SQL: the hot write path and the history reads.

Functions take an open connection; ``SqlTrackingStore`` owns the transactions and the run checks.
"""

from __future__ import annotations

import math

import sqlalchemy as sa

from dockyard.db import tables as t
from dockyard.db.search import chunks
from dockyard.tracking.entities import Metric


def _db_value(value: float) -> float | None:
    return None if math.isnan(value) else value


def insert(conn: sa.Connection, run_id: str, metrics: list[Metric], *, is_sqlite: bool) -> None:
    # Hot path: plain SQL straight to the driver's executemany. SQLAlchemy's per-statement and
    # per-row handling would cost more than the database's own work at these volumes. The SQL is
    # the same on SQLite and PostgreSQL but for the parameter marker and how -inf is spelled.
    latest: dict[str, Metric] = {}
    for m in metrics:
        best = latest.get(m.key)
        if (
            best is None
            or (m.step, m.timestamp) > (best.step, best.timestamp)
            or ((m.step, m.timestamp) == (best.step, best.timestamp) and _order(m) > _order(best))
        ):
            latest[m.key] = m
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        _upsert_latest_sql(mark, is_sqlite),
        [(run_id, m.key, _db_value(m.value), m.timestamp, m.step) for m in latest.values()],
    )
    series: dict[str, int] = {}
    keys = list(latest)
    for chunk in chunks(keys):
        marks = ", ".join([mark] * len(chunk))
        rows = conn.exec_driver_sql(
            f"SELECT key, series_id FROM latest_metrics WHERE run_uuid = {mark} AND key IN ({marks})",  # noqa: S608  only the driver's parameter marker is interpolated; values are bound
            (run_id, *chunk),
        )
        series.update(rows.all())
    # An exact duplicate of a stored point (MLflow 3's log_model re-sends the run's metrics), or of an
    # earlier point of this batch, hits a unique index on the point and is skipped, as in MLflow.
    # Without a conflict target, DO NOTHING covers both indexes: values and NaN (NULL) points.
    conn.exec_driver_sql(
        "INSERT INTO metrics (series_id, step, timestamp, value) "  # noqa: S608  only the driver's parameter marker is interpolated; values are bound
        f"VALUES ({mark}, {mark}, {mark}, {mark}) ON CONFLICT DO NOTHING",
        [(series[m.key], m.step, m.timestamp, None if m.value != m.value else m.value) for m in metrics],
    )


def _upsert_latest_sql(mark: str, is_sqlite: bool) -> str:
    """Insert each series' latest point, or replace the stored one if this one is later.

    "Later" is MLflow's order: higher step, then timestamp, then value, with NaN (NULL) lowest.
    """
    low = "-9e999" if is_sqlite else "'-Infinity'::float8"
    return (
        "INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step) "  # noqa: S608  only parameter markers and a -inf literal chosen by dialect are interpolated
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) "
        "ON CONFLICT (run_uuid, key) DO UPDATE SET "
        "value = excluded.value, timestamp = excluded.timestamp, step = excluded.step "
        f"WHERE (excluded.step, excluded.timestamp, COALESCE(excluded.value, {low})) > "
        f"(latest_metrics.step, latest_metrics.timestamp, COALESCE(latest_metrics.value, {low}))"
    )


def downsampled(
    conn: sa.Connection, run_id: str, key: str, buckets: int, start_step: int | None, end_step: int | None
) -> list[Metric]:
    """At most ``2 * buckets`` points: per equal-width step bucket, the minimum and the maximum.

    Spikes survive (unlike taking every n-th point), so a chart of a million-point metric drawn
    from a few thousand points looks like the chart of all of them. NaN points are left out.
    """
    m, lm = t.metrics, t.latest_metrics
    series_id = conn.execute(sa.select(lm.c.series_id).where(lm.c.run_uuid == run_id, lm.c.key == key)).scalar()
    if series_id is None:
        return []
    where = [m.c.series_id == series_id, m.c.value.is_not(None)]
    if start_step is not None:
        where.append(m.c.step >= start_step)
    if end_step is not None:
        where.append(m.c.step <= end_step)
    lo, hi = conn.execute(sa.select(sa.func.min(m.c.step), sa.func.max(m.c.step)).where(*where)).one()
    if lo is None:
        return []
    width = max(1, -(-(hi - lo + 1) // buckets))  # ceiling division
    bucket = (m.c.step - lo) // width
    ranked = (
        sa.select(
            m.c.step,
            m.c.timestamp,
            m.c.value,
            sa.func.row_number().over(partition_by=bucket, order_by=(m.c.value, m.c.step)).label("low"),
            sa.func.row_number().over(partition_by=bucket, order_by=(m.c.value.desc(), m.c.step)).label("high"),
        )
        .where(*where)
        .subquery()
    )
    rows = conn.execute(
        sa.select(ranked.c.step, ranked.c.timestamp, ranked.c.value)
        .where(sa.or_(ranked.c.low == 1, ranked.c.high == 1))
        .order_by(ranked.c.step, ranked.c.timestamp)
    ).all()
    return [Metric(key, v, ts, st, run_id) for st, ts, v in rows]


def _order(m: Metric) -> tuple[int, int, float]:
    return (m.step, m.timestamp, -math.inf if math.isnan(m.value) else m.value)
