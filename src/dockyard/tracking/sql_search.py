"""Compile parsed search filters and order_by keys (``core.search``) into SQLAlchemy clauses.

Each comparison on a metric, param, tag or dataset becomes a ``run_uuid IN (sub-query)`` on an indexed
table, so a filter never multiplies rows the way MLflow's joins do, and AND / OR / parentheses compose
freely.
Metric comparisons use ``latest_metrics`` (the latest value per key), never the points.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from dockyard.core.errors import InvalidFilter
from dockyard.core.search import Comparison, Expr, OrderKey
from dockyard.db import tables as t
from dockyard.db.search import compare, compile_filter, ordered

_RUN_ATTRIBUTES = {
    "run_id": t.runs.c.run_uuid,
    "run_name": t.runs.c.name,
    "user_id": t.runs.c.user_id,
    "status": t.runs.c.status,
    "start_time": t.runs.c.start_time,
    "end_time": t.runs.c.end_time,
    "artifact_uri": t.runs.c.artifact_uri,
}

_EXPERIMENT_ATTRIBUTES = {
    "experiment_id": t.experiments.c.experiment_id,
    "name": t.experiments.c.name,
    "creation_time": t.experiments.c.creation_time,
    "last_update_time": t.experiments.c.last_update_time,
}


def _run_comparison(c: Comparison) -> sa.ColumnElement[bool]:
    # Value filters are uncorrelated ``run_uuid IN (...)`` sub-queries: each runs once over its index
    # (``latest_metrics(key, value)`` for metrics), instead of once per run as a correlated EXISTS.
    run_id = t.runs.c.run_uuid
    if c.entity == "attribute":
        column = _RUN_ATTRIBUTES.get(c.key)
        if column is None:
            raise InvalidFilter(f"unknown run attribute {c.key!r}")
        return compare(column, c.op, c.value)
    if c.entity == "metric":
        lm = t.latest_metrics
        return run_id.in_(sa.select(lm.c.run_uuid).where(lm.c.key == c.key, compare(lm.c.value, c.op, c.value)))
    if c.entity in ("param", "tag"):
        table = t.params if c.entity == "param" else t.tags
        return run_id.in_(
            sa.select(table.c.run_uuid).where(table.c.key == c.key, compare(table.c.value, c.op, c.value))
        )
    if c.entity == "dataset":
        ri, ds, rit = t.run_inputs, t.datasets, t.run_input_tags
        if c.key in ("name", "digest"):
            return run_id.in_(
                sa.select(ri.c.run_uuid)
                .join(ds, ri.c.dataset_uuid == ds.c.dataset_uuid)
                .where(compare(ds.c[c.key], c.op, c.value))
            )
        if c.key == "context":
            return run_id.in_(
                sa.select(rit.c.run_uuid).where(rit.c.key == "mlflow.data.context", compare(rit.c.value, c.op, c.value))
            )
        raise InvalidFilter(f"unknown dataset field {c.key!r} (use name, digest or context)")
    raise InvalidFilter(f"unknown entity {c.entity!r}")


def _experiment_comparison(c: Comparison) -> sa.ColumnElement[bool]:
    if c.entity == "attribute":
        column = _EXPERIMENT_ATTRIBUTES.get(c.key)
        if column is None:
            raise InvalidFilter(f"unknown experiment attribute {c.key!r}")
        return compare(column, c.op, c.value)
    if c.entity == "tag":
        et = t.experiment_tags
        return sa.exists().where(
            et.c.experiment_id == t.experiments.c.experiment_id,
            et.c.key == c.key,
            compare(et.c.value, c.op, c.value),
        )
    raise InvalidFilter(f"experiments cannot be filtered on {c.entity!r}")


def run_filter(expr: Expr | None) -> sa.ColumnElement[bool] | None:
    return None if expr is None else compile_filter(expr, _run_comparison)


def experiment_filter(expr: Expr | None) -> sa.ColumnElement[bool] | None:
    return None if expr is None else compile_filter(expr, _experiment_comparison)


def run_ordering(query: sa.Select[Any], keys: list[OrderKey]) -> sa.Select[Any]:
    """Add ORDER BY (with the outer joins it needs) to a select over ``runs``; NULLs sort last."""
    clauses: list[Any] = []
    seen_start = False
    for i, key in enumerate(keys):
        if key.entity == "attribute":
            column = _RUN_ATTRIBUTES.get(key.key)
            if column is None:
                raise InvalidFilter(f"cannot order runs by attribute {key.key!r}")
            seen_start = seen_start or key.key == "start_time"
            clauses.append(ordered(column, key.ascending))
            continue
        table = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}.get(key.entity)
        if table is None:
            raise InvalidFilter(f"cannot order runs by {key.entity!r}")
        alias = table.alias(f"order_{i}")
        query = query.outerjoin(alias, sa.and_(alias.c.run_uuid == t.runs.c.run_uuid, alias.c.key == key.key))
        if key.entity == "metric":
            # As MLflow, in either direction: values, then NaN (stored as NULL), then runs without it.
            clauses.append(sa.case((alias.c.run_uuid.is_(None), 2), (alias.c.value.is_(None), 1), else_=0))
        clauses.append(ordered(alias.c.value, key.ascending))
    if not seen_start:
        clauses.append(t.runs.c.start_time.desc().nulls_last())
    clauses.append(t.runs.c.run_uuid.asc())
    return query.order_by(*clauses)


def experiment_ordering(query: sa.Select[Any], keys: list[OrderKey]) -> sa.Select[Any]:
    clauses: list[Any] = []
    for i, key in enumerate(keys):
        if key.entity == "attribute":
            column = _EXPERIMENT_ATTRIBUTES.get(key.key)
            if column is None:
                raise InvalidFilter(f"cannot order experiments by attribute {key.key!r}")
            clauses.append(ordered(column, key.ascending))
        elif key.entity == "tag":
            alias = t.experiment_tags.alias(f"order_{i}")
            query = query.outerjoin(
                alias,
                sa.and_(alias.c.experiment_id == t.experiments.c.experiment_id, alias.c.key == key.key),
            )
            clauses.append(ordered(alias.c.value, key.ascending))
        else:
            raise InvalidFilter(f"cannot order experiments by {key.entity!r}")
    if not keys:
        clauses.append(t.experiments.c.creation_time.desc().nulls_last())
    clauses.append(t.experiments.c.experiment_id.desc())
    return query.order_by(*clauses)


_LOGGED_MODEL_ATTRIBUTES = {
    "model_id": t.logged_models.c.model_id,
    "name": t.logged_models.c.name,
    "model_type": t.logged_models.c.model_type,
    "status": t.logged_models.c.status,
    "source_run_id": t.logged_models.c.source_run_id,
    "creation_timestamp": t.logged_models.c.creation_timestamp,
    "last_updated_timestamp": t.logged_models.c.last_updated_timestamp,
}


def _logged_model_comparison(c: Comparison) -> sa.ColumnElement[bool]:
    model_id = t.logged_models.c.model_id
    if c.entity == "attribute":
        column = _LOGGED_MODEL_ATTRIBUTES.get(c.key)
        if column is None:
            raise InvalidFilter(f"unknown logged model attribute {c.key!r}")
        return compare(column, c.op, c.value)
    if c.entity == "metric":
        lmm = t.logged_model_metrics
        return sa.exists().where(lmm.c.model_id == model_id, lmm.c.key == c.key, compare(lmm.c.value, c.op, c.value))
    if c.entity in ("param", "tag"):
        table = t.logged_model_params if c.entity == "param" else t.logged_model_tags
        return sa.exists().where(
            table.c.model_id == model_id, table.c.key == c.key, compare(table.c.value, c.op, c.value)
        )
    raise InvalidFilter(f"logged models cannot be filtered on {c.entity!r}")


def logged_model_filter(expr: Expr | None) -> sa.ColumnElement[bool] | None:
    return None if expr is None else compile_filter(expr, _logged_model_comparison)


def logged_model_dataset_filter(expr: Expr | None, on_datasets: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """The filter of a search that names datasets, as MLflow applies it: its metric comparisons count
    only metrics on those datasets, and without a metric comparison a model needs a metric on one."""
    lmm = t.logged_model_metrics
    compared_metrics = False

    def comparison(c: Comparison) -> sa.ColumnElement[bool]:
        nonlocal compared_metrics
        if c.entity != "metric":
            return _logged_model_comparison(c)
        compared_metrics = True
        return sa.exists().where(
            lmm.c.model_id == t.logged_models.c.model_id,
            lmm.c.key == c.key,
            compare(lmm.c.value, c.op, c.value),
            on_datasets,
        )

    condition = None if expr is None else compile_filter(expr, comparison)
    if compared_metrics and condition is not None:
        return condition
    any_metric = sa.exists().where(lmm.c.model_id == t.logged_models.c.model_id, on_datasets)
    return any_metric if condition is None else sa.and_(condition, any_metric)


def logged_model_ordering(query: sa.Select[Any], keys: list[OrderKey]) -> sa.Select[Any]:
    """ORDER BY for logged models; a metric key orders by the model's latest value of that metric."""
    clauses: list[Any] = []
    for key in keys:
        if key.entity == "attribute":
            column = _LOGGED_MODEL_ATTRIBUTES.get(key.key)
            if column is None:
                raise InvalidFilter(f"cannot order logged models by attribute {key.key!r}")
            clauses.append(ordered(column, key.ascending))
        elif key.entity == "metric":
            lmm = t.logged_model_metrics
            latest = (
                sa.select(lmm.c.value)
                .where(lmm.c.model_id == t.logged_models.c.model_id, lmm.c.key == key.key)
                .order_by(lmm.c.step.desc(), lmm.c.timestamp.desc(), lmm.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            clauses.append(ordered(latest, key.ascending))
        else:
            raise InvalidFilter(f"cannot order logged models by {key.entity!r}")
    clauses.append(t.logged_models.c.creation_timestamp.desc())
    clauses.append(t.logged_models.c.model_id.asc())
    return query.order_by(*clauses)
