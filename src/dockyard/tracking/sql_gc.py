"""Permanent removal of deleted runs, experiments and logged models (``dockyard gc``): the rows, found and
removed here; their artifacts are removed by the caller, which knows the artifact stores.

A run, experiment or logged model is only ever purged from the ``deleted`` stage. Runs go with their
params, tags, metrics, inputs and outputs (the foreign keys cascade); logged models with their params,
tags, metrics and their links to runs; an experiment goes with every run, logged model and dataset in it
and with the permissions granted on it. A run or a logged model that a live model version still names as
its source is kept, and so is an experiment holding one: removing it would break the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from dockyard.db import tables as t
from dockyard.db.engine import Database
from dockyard.db.search import chunks
from dockyard.tracking.entities import LifecycleStage

DELETED = LifecycleStage.DELETED.value


@dataclass(frozen=True)
class Doomed:
    """What a collection would remove: ``(id, artifact location)`` pairs, and what it keeps and why."""

    runs: list[tuple[str, str]] = field(default_factory=list)
    experiments: list[tuple[str, str]] = field(default_factory=list)
    logged_models: list[tuple[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _sourced_runs(conn: sa.Connection) -> set[str]:
    """Runs that model versions name (their files are the versions' files)."""
    mv = t.model_versions
    return {r for (r,) in conn.execute(sa.select(mv.c.run_id).where(mv.c.run_id.is_not(None)).distinct())}


def _sourced_models(conn: sa.Connection) -> set[str]:
    """Logged models that live model versions were registered from (the versions' files are theirs)."""
    mv = t.model_versions
    query = sa.select(mv.c.logged_model_id).where(mv.c.logged_model_id.is_not(None), mv.c.deleted_timestamp.is_(None))
    return {m for (m,) in conn.execute(query.distinct())}


def find_deleted(
    db: Database,
    *,
    older_than_ms: int | None = None,
    now_ms: int,
    run_ids: list[str] | None = None,
    experiment_ids: list[str] | None = None,
    logged_model_ids: list[str] | None = None,
) -> Doomed:
    """The deleted runs, experiments and logged models a collection removes: deleted at least
    ``older_than_ms`` before ``now_ms`` (any age when None), limited to ``run_ids`` / ``experiment_ids`` /
    ``logged_model_ids`` when given (ids of some kinds given: none of the kinds not given)."""
    cutoff = None if older_than_ms is None else now_ms - older_than_ms
    limited = run_ids is not None or experiment_ids is not None or logged_model_ids is not None
    doomed = Doomed()
    with db.read() as conn:
        sourced = _sourced_runs(conn)
        sourced_models = _sourced_models(conn)
        ex = t.experiments
        query: Any = sa.select(ex.c.experiment_id, ex.c.artifact_location).where(ex.c.lifecycle_stage == DELETED)
        if cutoff is not None:
            query = query.where(sa.func.coalesce(ex.c.last_update_time, 0) <= cutoff)
        if experiment_ids is not None:
            query = query.where(ex.c.experiment_id.in_([int(e) for e in experiment_ids if e.isdigit()]))
        elif limited:
            query = query.where(sa.false())
        held = {
            row.experiment_id: f"its run {row.run_uuid}"
            for row in conn.execute(sa.select(t.runs.c.experiment_id, t.runs.c.run_uuid)).all()
            if row.run_uuid in sourced
        }
        lm = t.logged_models
        for row in conn.execute(sa.select(lm.c.experiment_id, lm.c.model_id)).all():
            if row.model_id in sourced_models:
                held.setdefault(row.experiment_id, f"its logged model {row.model_id}")
        for experiment_id, location in conn.execute(query.order_by(ex.c.experiment_id)).all():
            if experiment_id in held:
                doomed.kept.append(
                    f"experiment {experiment_id}: {held[experiment_id]} is the source of a model version"
                )
            else:
                doomed.experiments.append((str(experiment_id), location))
        purged_experiments = {int(e) for e, _ in doomed.experiments}
        r = t.runs
        runs, kept = _collect(
            conn,
            (r.c.run_uuid, r.c.experiment_id, r.c.artifact_uri),
            sa.func.coalesce(r.c.deleted_time, 0),
            r.c.lifecycle_stage,
            _Limits(run_ids, limited, cutoff, purged_experiments),
            sourced,
            "run",
        )
        models, kept_models = _collect(
            conn,
            (lm.c.model_id, lm.c.experiment_id, lm.c.artifact_location),
            lm.c.last_updated_timestamp,  # deleting a logged model stamps it
            lm.c.lifecycle_stage,
            _Limits(logged_model_ids, limited, cutoff, purged_experiments),
            sourced_models,
            "logged model",
        )
        doomed.runs.extend(runs)
        doomed.logged_models.extend(models)
        doomed.kept.extend([*kept, *kept_models])
    return doomed


@dataclass(frozen=True)
class _Limits:
    """What a collection of one kind is limited to: ``ids`` of it (None: any), whether ids of some kind
    were given at all, the deletion time cutoff, and the experiments going anyway (their contents too)."""

    ids: list[str] | None
    limited: bool
    cutoff: int | None
    purged_experiments: set[int]


def _collect(
    conn: sa.Connection,
    columns: tuple[Any, Any, Any],
    deleted_at: Any,
    stage: Any,
    limits: _Limits,
    sourced: set[str],
    what: str,
) -> tuple[list[tuple[str, str]], list[str]]:
    """The deleted rows of one kind (``columns``: its id, experiment and artifact location) to remove,
    and the reasons for those kept (a model version's source)."""
    key, experiment, location = columns
    query: Any = sa.select(key, experiment, location).where(stage == DELETED)
    if limits.cutoff is not None:
        query = query.where(deleted_at <= limits.cutoff)
    if limits.ids is not None:
        query = query.where(key.in_(limits.ids))
    elif limits.limited:
        query = query.where(sa.false())
    doomed: list[tuple[str, str]] = []
    kept: list[str] = []
    for item_id, experiment_id, item_location in conn.execute(query.order_by(key)).all():
        if experiment_id in limits.purged_experiments:
            continue  # goes with its experiment, files included (they are under the experiment's)
        if item_id in sourced:
            kept.append(f"{what} {item_id}: the source of a model version")
        else:
            doomed.append((item_id, item_location))
    return doomed, kept


def purge(db: Database, doomed: Doomed) -> None:
    """Remove the rows of ``doomed``'s runs, logged models and experiments (each chunk in one transaction;
    only rows still in the deleted stage, so a run restored meanwhile survives)."""
    run_ids = [run_id for run_id, _ in doomed.runs]
    for chunk in chunks(run_ids):
        with db.write() as conn:
            conn.execute(t.runs.delete().where(t.runs.c.run_uuid.in_(chunk), t.runs.c.lifecycle_stage == DELETED))
    lm = t.logged_models
    model_ids = [model_id for model_id, _ in doomed.logged_models]
    for chunk in chunks(model_ids):
        with db.write() as conn:
            conn.execute(lm.delete().where(lm.c.model_id.in_(chunk), lm.c.lifecycle_stage == DELETED))
    ex = t.experiments
    for experiment_id, _ in doomed.experiments:
        key = int(experiment_id)
        with db.write() as conn:
            gone = conn.execute(ex.delete().where(ex.c.experiment_id == key, ex.c.lifecycle_stage == DELETED))
            if gone.rowcount:
                conn.execute(t.experiment_permissions.delete().where(t.experiment_permissions.c.experiment_id == key))


@dataclass(frozen=True)
class KnownIds:
    """The ids whose artifact folders a store may hold: ``<experiment>/<run>``, ``<experiment>/models/<model>``."""

    experiments: set[str]
    runs: set[str]
    logged_models: set[str]


def known_ids(db: Database) -> KnownIds:
    with db.read() as conn:
        return KnownIds(
            experiments={str(e) for (e,) in conn.execute(sa.select(t.experiments.c.experiment_id))},
            runs={r for (r,) in conn.execute(sa.select(t.runs.c.run_uuid))},
            logged_models={m for (m,) in conn.execute(sa.select(t.logged_models.c.model_id))},
        )
