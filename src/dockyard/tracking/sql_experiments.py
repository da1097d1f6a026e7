"""Experiments in SQL: the base of :class:`~dockyard.tracking.sql_store.SqlTrackingStore`.

Every public method is one transaction; existence and lifecycle checks run inside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from dockyard.artifacts.registry import join_location
from dockyard.core.clock import now_ms
from dockyard.core.errors import ExperimentAlreadyExists, ExperimentNotFound, InvalidParameter, TagNotFound
from dockyard.core.paging import Page, next_offset_token, offset_from_token
from dockyard.core.search import Expr, OrderKey
from dockyard.db import Database, ensure_schema
from dockyard.db import tables as t
from dockyard.db.search import chunks
from dockyard.tracking import sql_search
from dockyard.tracking.entities import Experiment, ExperimentKeys, LifecycleStage, RunStats, ViewType

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


def experiment_key(experiment_id: str) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise ExperimentNotFound(f"No Experiment with id={experiment_id} exists") from None


class SqlExperimentStore:
    """The experiment half of the SQL tracking store (``SqlTrackingStore`` adds runs, metrics and
    logged models): opening the database, dialect helpers, experiments with their tags, and the
    per-experiment summaries over their runs (run counts, distinct keys)."""

    def __init__(self, db: Database, *, artifact_root: str) -> None:
        self.db = db
        self.artifact_root = artifact_root.rstrip("/")
        ensure_schema(db)
        self._ensure_default_experiment()

    def _dialect_insert_fn(self) -> Any:
        return self.db.upsert

    def _dialect_insert(self, table: sa.Table) -> Any:
        return self._dialect_insert_fn()(table)

    def _artifact_location(self, experiment_id: int) -> str:
        return join_location(self.artifact_root, str(experiment_id))

    def _ensure_default_experiment(self) -> None:
        with self.db.read() as conn:
            found = conn.execute(
                sa.select(t.experiments.c.experiment_id).where(t.experiments.c.experiment_id == 0)
            ).first()
        if found:
            return
        now = now_ms()
        stmt = (
            self._dialect_insert(t.experiments)
            .values(
                experiment_id=0,
                name=DEFAULT_EXPERIMENT_NAME,
                artifact_location=self._artifact_location(0),
                lifecycle_stage=LifecycleStage.ACTIVE.value,
                creation_time=now,
                last_update_time=now,
            )
            .on_conflict_do_nothing()
        )
        with self.db.write() as conn:
            conn.execute(stmt)

    # ------------------------------------------------------------------ experiments

    def create_experiment(self, name: str, artifact_location: str | None, tags: dict[str, str]) -> str:
        exp = t.experiments
        now = now_ms()
        with self.db.write() as conn:
            existing = conn.execute(sa.select(exp.c.lifecycle_stage).where(exp.c.name == name)).first()
            if existing is not None:
                state = " in deleted state (restore it or use another name)" if existing[0] == "deleted" else ""
                raise ExperimentAlreadyExists(f"Experiment {name!r} already exists{state}")
            result = conn.execute(
                exp.insert().values(
                    name=name,
                    artifact_location=artifact_location or "",
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    creation_time=now,
                    last_update_time=now,
                )
            )
            experiment_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            if not artifact_location:
                conn.execute(
                    exp.update()
                    .where(exp.c.experiment_id == experiment_id)
                    .values(artifact_location=self._artifact_location(experiment_id))
                )
            if tags:
                conn.execute(
                    t.experiment_tags.insert(),
                    [{"experiment_id": experiment_id, "key": k, "value": v} for k, v in tags.items()],
                )
        return str(experiment_id)

    def _experiments(self, conn: sa.Connection, rows: Sequence[Any]) -> list[Experiment]:
        ids = [r.experiment_id for r in rows]
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        for chunk in chunks(ids):
            et = t.experiment_tags
            for row in conn.execute(sa.select(et).where(et.c.experiment_id.in_(chunk))):
                tags[row.experiment_id][row.key] = row.value
        return [
            Experiment(
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                lifecycle_stage=LifecycleStage(r.lifecycle_stage),
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
                tags=tags.get(r.experiment_id, {}),
            )
            for r in rows
        ]

    def get_experiment(self, experiment_id: str) -> Experiment:
        key = experiment_key(experiment_id)
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.experiments).where(t.experiments.c.experiment_id == key)).first()
            if row is None:
                raise ExperimentNotFound(f"No Experiment with id={experiment_id} exists")
            return self._experiments(conn, [row])[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.experiments).where(t.experiments.c.name == name)).first()
            return None if row is None else self._experiments(conn, [row])[0]

    def search_experiments(
        self,
        view_type: ViewType,
        max_results: int,
        filter_expr: Expr | None,
        order_by: list[OrderKey],
        page_token: str | None,
    ) -> Page[Experiment]:
        offset = offset_from_token(page_token)
        exp = t.experiments
        query = sa.select(exp).where(exp.c.lifecycle_stage.in_([s.value for s in view_type.stages()]))
        condition = sql_search.experiment_filter(filter_expr)
        if condition is not None:
            query = query.where(condition)
        query = sql_search.experiment_ordering(query, order_by).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            items = self._experiments(conn, rows[:max_results])
        return Page(items, next_offset_token(offset, max_results, len(rows) > max_results))

    def _check_experiment(self, conn: sa.Connection, experiment_id: str) -> tuple[int, str]:
        key = experiment_key(experiment_id)
        row = conn.execute(
            sa.select(t.experiments.c.lifecycle_stage).where(t.experiments.c.experiment_id == key)
        ).first()
        if row is None:
            raise ExperimentNotFound(f"No Experiment with id={experiment_id} exists")
        return key, row[0]

    def _touch_experiment(self, conn: sa.Connection, key: int, **values: Any) -> None:
        conn.execute(
            t.experiments.update()
            .where(t.experiments.c.experiment_id == key)
            .values(last_update_time=now_ms(), **values)
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        with self.db.write() as conn:
            key, stage = self._check_experiment(conn, experiment_id)
            if stage != LifecycleStage.ACTIVE.value:
                raise InvalidParameter(f"Cannot rename experiment {experiment_id!r}: it is deleted")
            clash = conn.execute(
                sa.select(t.experiments.c.experiment_id).where(
                    t.experiments.c.name == new_name, t.experiments.c.experiment_id != key
                )
            ).first()
            if clash is not None:
                raise ExperimentAlreadyExists(f"Experiment {new_name!r} already exists")
            self._touch_experiment(conn, key, name=new_name)

    def set_experiment_lifecycle(self, experiment_id: str, stage: LifecycleStage) -> None:
        """Delete or restore an experiment, and with it the runs it holds (as MLflow does)."""
        now = now_ms()
        with self.db.write() as conn:
            key, current = self._check_experiment(conn, experiment_id)
            if key == 0 and stage is LifecycleStage.DELETED:
                raise InvalidParameter("The Default experiment (id '0') cannot be deleted")
            if current == stage.value:
                raise InvalidParameter(f"Experiment {experiment_id!r} is already {stage.value}")
            self._touch_experiment(conn, key, lifecycle_stage=stage.value)
            deleted = stage is LifecycleStage.DELETED
            conn.execute(
                t.runs.update()
                .where(t.runs.c.experiment_id == key, t.runs.c.lifecycle_stage == current)
                .values(lifecycle_stage=stage.value, deleted_time=now if deleted else None)
            )

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        with self.db.write() as conn:
            exp_key, stage = self._check_experiment(conn, experiment_id)
            if stage != LifecycleStage.ACTIVE.value:
                raise InvalidParameter(f"Cannot set a tag on deleted experiment {experiment_id!r}")
            stmt = self._dialect_insert(t.experiment_tags).values(experiment_id=exp_key, key=key, value=value)
            conn.execute(stmt.on_conflict_do_update(index_elements=["experiment_id", "key"], set_={"value": value}))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        et = t.experiment_tags
        with self.db.write() as conn:
            exp_key, _ = self._check_experiment(conn, experiment_id)
            result = conn.execute(et.delete().where(et.c.experiment_id == exp_key, et.c.key == key))
            if result.rowcount == 0:
                raise TagNotFound(f"No tag {key!r} on experiment {experiment_id!r}")

    # ------------------------------------------------------------------ experiment summaries (over runs)

    def experiment_run_stats(self, experiment_ids: list[str]) -> list[RunStats]:
        """Active runs per experiment and the latest start, in one grouped query per chunk of ids."""
        keys = [experiment_key(e) for e in experiment_ids]
        runs = t.runs
        found: dict[int, tuple[int, int | None]] = {}
        with self.db.read() as conn:
            for chunk in chunks(keys):
                query = (
                    sa.select(runs.c.experiment_id, sa.func.count(), sa.func.max(runs.c.start_time))
                    .where(runs.c.experiment_id.in_(chunk), runs.c.lifecycle_stage == LifecycleStage.ACTIVE.value)
                    .group_by(runs.c.experiment_id)
                )
                found.update((int(row[0]), (int(row[1]), row[2])) for row in conn.execute(query))
        return [RunStats(str(key), *found.get(key, (0, None))) for key in keys]

    def experiment_keys(self, experiment_ids: list[str], max_keys: int, max_runs: int) -> ExperimentKeys:
        """The distinct param, metric and tag keys of the experiments' latest ``max_runs`` active runs.

        One query finds the start time of the ``max_runs``-th latest run (``ix_runs_experiment_start``);
        then one query per kind walks that index range of runs and each run's rows of the key table by its
        (run_uuid, key) primary key or unique index. A DISTINCT over all the runs reads every key row of
        the experiment: about 100 ms per kind per 100,000 runs on SQLite, too much for a page, hence
        the bound. ``LIMIT max_keys + 1`` tells whether a kind was cut.
        """
        keys = [experiment_key(e) for e in experiment_ids]
        if not keys:
            return ExperimentKeys()
        runs = t.runs
        active = sa.and_(runs.c.experiment_id.in_(keys), runs.c.lifecycle_stage == LifecycleStage.ACTIVE.value)
        found: list[tuple[str, ...]] = []
        with self.db.read() as conn:
            oldest = conn.execute(
                sa.select(runs.c.start_time)
                .where(runs.c.experiment_id.in_(keys))
                .order_by(runs.c.start_time.desc())
                .offset(max_runs)
                .limit(1)
            ).first()
            truncated = oldest is not None  # more runs than scanned: an older run's keys may be missing
            if oldest is not None and oldest[0] is not None:
                active = sa.and_(active, runs.c.start_time > oldest[0])
            for table in (t.params, t.latest_metrics, t.tags):
                query = (
                    sa.select(table.c.key)
                    .distinct()
                    .select_from(table.join(runs, runs.c.run_uuid == table.c.run_uuid))
                    .where(active)
                    .order_by(table.c.key)
                    .limit(max_keys + 1)
                )
                names = [str(row[0]) for row in conn.execute(query)]
                truncated = truncated or len(names) > max_keys
                found.append(tuple(names[:max_keys]))
        return ExperimentKeys(found[0], found[1], found[2], truncated)
