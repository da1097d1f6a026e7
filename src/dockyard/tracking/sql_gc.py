"""Permanent removal of deleted runs and experiments (``dockyard gc``): the rows, found and removed here;
their artifacts are removed by the caller, which knows the artifact stores.

A run or experiment is only ever purged from the ``deleted`` stage. Runs go with their params, tags,
metrics, inputs and outputs (the foreign keys cascade); an experiment goes with every run, logged model
and dataset in it and with the permissions granted on it. A run that a model version still names as its
source is kept, and so is an experiment holding one: removing it would break the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from dockyard.db import tables as t
from dockyard.db.engine import Database
from dockyard.tracking.entities import LifecycleStage

IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's variable limit

DELETED = LifecycleStage.DELETED.value


@dataclass(frozen=True)
class Doomed:
    """What a collection would remove: ``(id, artifact location)`` pairs, and what it keeps and why."""

    runs: list[tuple[str, str]] = field(default_factory=list)
    experiments: list[tuple[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _sourced_runs(conn: sa.Connection) -> set[str]:
    """Runs that model versions name (their files are the versions' files)."""
    mv = t.model_versions
    return {r for (r,) in conn.execute(sa.select(mv.c.run_id).where(mv.c.run_id.is_not(None)).distinct())}


def find_deleted(
    db: Database,
    *,
    older_than_ms: int | None = None,
    now_ms: int,
    run_ids: list[str] | None = None,
    experiment_ids: list[str] | None = None,
) -> Doomed:
    """The deleted runs and experiments a collection removes: deleted at least ``older_than_ms`` before
    ``now_ms`` (any age when None), limited to ``run_ids`` / ``experiment_ids`` when given (an empty list
    of one kind with the other given: none of that kind)."""
    cutoff = None if older_than_ms is None else now_ms - older_than_ms
    doomed = Doomed()
    with db.read() as conn:
        sourced = _sourced_runs(conn)
        ex = t.experiments
        query: Any = sa.select(ex.c.experiment_id, ex.c.artifact_location).where(ex.c.lifecycle_stage == DELETED)
        if cutoff is not None:
            query = query.where(sa.func.coalesce(ex.c.last_update_time, 0) <= cutoff)
        if experiment_ids is not None:
            query = query.where(ex.c.experiment_id.in_([int(e) for e in experiment_ids if e.isdigit()]))
        elif run_ids is not None:
            query = query.where(sa.false())
        held = {
            row.experiment_id: row.run_uuid
            for row in conn.execute(sa.select(t.runs.c.experiment_id, t.runs.c.run_uuid)).all()
            if row.run_uuid in sourced
        }
        for experiment_id, location in conn.execute(query.order_by(ex.c.experiment_id)).all():
            if experiment_id in held:
                doomed.kept.append(
                    f"experiment {experiment_id}: its run {held[experiment_id]} is the source of a model version"
                )
            else:
                doomed.experiments.append((str(experiment_id), location))
        purged_experiments = {int(e) for e, _ in doomed.experiments}
        r = t.runs
        query = sa.select(r.c.run_uuid, r.c.experiment_id, r.c.artifact_uri).where(r.c.lifecycle_stage == DELETED)
        if cutoff is not None:
            query = query.where(sa.func.coalesce(r.c.deleted_time, 0) <= cutoff)
        if run_ids is not None:
            query = query.where(r.c.run_uuid.in_(run_ids))
        elif experiment_ids is not None:
            query = query.where(sa.false())
        for run_id, experiment_id, artifact_uri in conn.execute(query.order_by(r.c.run_uuid)).all():
            if experiment_id in purged_experiments:
                continue  # goes with its experiment (its files too: they are under the experiment's)
            if run_id in sourced:
                doomed.kept.append(f"run {run_id}: the source of a model version")
            else:
                doomed.runs.append((run_id, artifact_uri))
    return doomed


def purge(db: Database, doomed: Doomed) -> None:
    """Remove the rows of ``doomed``'s runs and experiments (each chunk in one transaction; only rows
    still in the deleted stage, so a run restored meanwhile survives)."""
    run_ids = [run_id for run_id, _ in doomed.runs]
    for start in range(0, len(run_ids), IN_CHUNK):
        chunk = run_ids[start : start + IN_CHUNK]
        with db.write() as conn:
            conn.execute(t.runs.delete().where(t.runs.c.run_uuid.in_(chunk), t.runs.c.lifecycle_stage == DELETED))
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
