"""Logged models (MLflow 3) in SQL: a model logged from a run, with its own id, artifacts, params,
tags and the metrics logged against it. Functions take an open connection; ``SqlTrackingStore`` owns
the transactions.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from dockyard.artifacts.registry import join_location
from dockyard.core.clock import now_ms
from dockyard.core.errors import ExperimentNotFound, InvalidParameter, LoggedModelNotFound
from dockyard.core.search import Expr, OrderKey
from dockyard.db import tables as t
from dockyard.tracking import sql_search
from dockyard.tracking.entities import (
    DatasetRef,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelInput,
    ModelOutput,
)

MODEL_ID_PREFIX = "m-"


def create(
    conn: sa.Connection,
    experiment_id: int,
    name: str,
    model_type: str | None,
    source_run_id: str | None,
    params: dict[str, str],
    tags: dict[str, str],
    creator_id: str | None,
) -> str:
    row = conn.execute(
        sa.select(t.experiments.c.lifecycle_stage, t.experiments.c.artifact_location).where(
            t.experiments.c.experiment_id == experiment_id
        )
    ).first()
    if row is None:
        raise ExperimentNotFound(f"No Experiment with id={experiment_id} exists")
    if row.lifecycle_stage != LifecycleStage.ACTIVE.value:
        raise InvalidParameter(f"Cannot log a model in deleted experiment '{experiment_id}'")
    model_id = MODEL_ID_PREFIX + uuid.uuid4().hex
    now = now_ms()
    conn.execute(
        t.logged_models.insert().values(
            model_id=model_id,
            experiment_id=experiment_id,
            name=name,
            artifact_location=join_location(row.artifact_location, "models", model_id, "artifacts"),
            creation_timestamp=now,
            last_updated_timestamp=now,
            status=LoggedModelStatus.PENDING.value,
            model_type=model_type,
            source_run_id=source_run_id,
            creator_id=creator_id,
            lifecycle_stage=LifecycleStage.ACTIVE.value,
        )
    )
    if params:
        conn.execute(
            t.logged_model_params.insert(), [{"model_id": model_id, "key": k, "value": v} for k, v in params.items()]
        )
    if tags:
        conn.execute(
            t.logged_model_tags.insert(), [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()]
        )
    return model_id


def check_exists(conn: sa.Connection, model_id: str) -> None:
    found = conn.execute(
        sa.select(t.logged_models.c.model_id).where(
            t.logged_models.c.model_id == model_id, t.logged_models.c.lifecycle_stage == LifecycleStage.ACTIVE.value
        )
    ).first()
    if found is None:
        raise LoggedModelNotFound(f"Logged model with ID '{model_id}' not found.")


def load(conn: sa.Connection, rows: Sequence[Any]) -> list[LoggedModel]:
    ids = [r.model_id for r in rows]
    params: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    metrics: dict[str, list[Metric]] = defaultdict(list)
    if ids:
        for row in conn.execute(sa.select(t.logged_model_params).where(t.logged_model_params.c.model_id.in_(ids))):
            params[row.model_id][row.key] = row.value
        for row in conn.execute(sa.select(t.logged_model_tags).where(t.logged_model_tags.c.model_id.in_(ids))):
            tags[row.model_id][row.key] = row.value
        lmm = t.logged_model_metrics
        for row in conn.execute(sa.select(lmm).where(lmm.c.model_id.in_(ids)).order_by(lmm.c.id)):
            metrics[row.model_id].append(
                Metric(
                    row.key,
                    math.nan if row.value is None else row.value,
                    row.timestamp,
                    row.step,
                    run_id=row.run_uuid,
                    model_id=row.model_id,
                    dataset_name=row.dataset_name,
                    dataset_digest=row.dataset_digest,
                )
            )
    return [
        LoggedModel(
            model_id=r.model_id,
            experiment_id=str(r.experiment_id),
            name=r.name,
            artifact_location=r.artifact_location,
            creation_timestamp=r.creation_timestamp,
            last_updated_timestamp=r.last_updated_timestamp,
            status=LoggedModelStatus(r.status),
            status_message=r.status_message,
            model_type=r.model_type,
            source_run_id=r.source_run_id,
            creator_id=r.creator_id,
            tags=tags.get(r.model_id, {}),
            params=params.get(r.model_id, {}),
            metrics=tuple(metrics.get(r.model_id, [])),
        )
        for r in rows
    ]


def get(conn: sa.Connection, model_id: str) -> LoggedModel:
    lm = t.logged_models
    row = conn.execute(
        sa.select(lm).where(lm.c.model_id == model_id, lm.c.lifecycle_stage == LifecycleStage.ACTIVE.value)
    ).first()
    if row is None:
        raise LoggedModelNotFound(f"Logged model with ID '{model_id}' not found.")
    return load(conn, [row])[0]


def touch(conn: sa.Connection, model_id: str, **values: Any) -> None:
    conn.execute(
        t.logged_models.update()
        .where(t.logged_models.c.model_id == model_id)
        .values(last_updated_timestamp=now_ms(), **values)
    )


def upsert_pairs(conn: sa.Connection, insert: Any, table: sa.Table, model_id: str, values: dict[str, str]) -> None:
    stmt = insert(table)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["model_id", "key"], set_={"value": stmt.excluded.value}),
        [{"model_id": model_id, "key": k, "value": v} for k, v in values.items()],
    )


def insert_metrics(conn: sa.Connection, run_id: str, metrics: Sequence[Metric]) -> None:
    """Copy metrics logged with a ``model_id`` to that model (the model must exist)."""
    rows = [m for m in metrics if m.model_id]
    for model_id in {m.model_id for m in rows}:
        check_exists(conn, model_id)  # type: ignore[arg-type]
    if rows:
        conn.execute(
            t.logged_model_metrics.insert(),
            [
                {
                    "model_id": m.model_id,
                    "key": m.key,
                    "value": None if math.isnan(m.value) else m.value,
                    "timestamp": m.timestamp,
                    "step": m.step,
                    "run_uuid": run_id,
                    "dataset_name": m.dataset_name,
                    "dataset_digest": m.dataset_digest,
                }
                for m in rows
            ],
        )


def outputs_of(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, list[ModelOutput]]:
    out: dict[str, list[ModelOutput]] = defaultdict(list)
    ro = t.run_outputs
    if run_ids:
        for row in conn.execute(
            sa.select(ro).where(ro.c.run_uuid.in_(list(run_ids))).order_by(ro.c.step, ro.c.model_id)
        ):
            out[row.run_uuid].append(ModelOutput(row.model_id, row.step))
    return out


def search(
    conn: sa.Connection,
    experiment_ids: list[int],
    filter_expr: Expr | None,
    order_by: list[OrderKey],
    offset: int,
    limit: int,
    datasets: Sequence[DatasetRef] = (),
) -> list[LoggedModel]:
    lm = t.logged_models
    query = sa.select(lm).where(
        lm.c.experiment_id.in_(experiment_ids), lm.c.lifecycle_stage == LifecycleStage.ACTIVE.value
    )
    if datasets:
        # A metric is on a dataset when its name matches and its digest does; a dataset named without a
        # digest matches metrics logged without one (what MLflow's server does with such a filter).
        lmm = t.logged_model_metrics
        on_datasets = sa.or_(
            *(sa.and_(lmm.c.dataset_name == d.name, lmm.c.dataset_digest == d.digest) for d in datasets)
        )
        query = query.where(sql_search.logged_model_dataset_filter(filter_expr, on_datasets))
    else:
        condition = sql_search.logged_model_filter(filter_expr)
        if condition is not None:
            query = query.where(condition)
    query = sql_search.logged_model_ordering(query, order_by).offset(offset).limit(limit)
    return load(conn, conn.execute(query).all())


def inputs_of(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, list[ModelInput]]:
    out: dict[str, list[ModelInput]] = defaultdict(list)
    rmi = t.run_model_inputs
    if run_ids:
        query = sa.select(rmi).where(rmi.c.run_uuid.in_(list(run_ids))).order_by(rmi.c.model_id)
        for row in conn.execute(query):
            out[row.run_uuid].append(ModelInput(row.model_id))
    return out
