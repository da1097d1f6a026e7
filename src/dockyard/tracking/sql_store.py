"""The tracking store on SQLite or PostgreSQL (SQLAlchemy Core).

Every public method is one transaction: reads in ``db.read()``, writes in ``db.write()`` (serialized on
SQLite). Existence and lifecycle checks run inside the write transaction, so a rejected call writes
nothing. Runs are loaded in batches (one query per table for a whole page), never by joining params,
tags and metrics into one row set.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from dockyard.artifacts.registry import join_location
from dockyard.core.errors import (
    ExperimentNotFound,
    InvalidParameter,
    ParamValueChanged,
    RunNotActive,
    RunNotFound,
    TagNotFound,
)
from dockyard.core.paging import Page, decode_token, encode_token, next_offset_token, offset_from_token
from dockyard.core.search import Expr, OrderKey
from dockyard.db import Database
from dockyard.db import tables as t
from dockyard.db.search import chunks
from dockyard.tracking import sql_logged_models, sql_metrics, sql_search
from dockyard.tracking.entities import (
    Dataset,
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelInput,
    ModelOutput,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)
from dockyard.tracking.sql_experiments import SqlExperimentStore, experiment_key

RUN_NAME_TAG = "mlflow.runName"
CONTEXT_TAG = "mlflow.data.context"  # the role a run gave a dataset input (training, evaluation, ...)


def not_active_message(run_id: str, stage: str) -> str:
    """A write to a deleted run, in MLflow's words (what its users search their logs for)."""
    return f"The run {run_id} must be in the 'active' state. Current state is {stage}."


def _db_value(value: float) -> float | None:
    return None if math.isnan(value) else value


def _py_value(value: float | None) -> float:
    return math.nan if value is None else value


class _Statements:
    """Statements of the hot paths, built once: building a statement costs more than running it."""

    def __init__(self, insert: Any) -> None:
        run_id: sa.BindParameter[str] = sa.bindparam("run_id")
        self.select_run = sa.select(t.runs).where(t.runs.c.run_uuid == run_id)
        self.select_experiment_for_run = sa.select(
            t.experiments.c.lifecycle_stage, t.experiments.c.artifact_location
        ).where(t.experiments.c.experiment_id == sa.bindparam("experiment_id"))
        self.insert_run = t.runs.insert()
        self.insert_tags = t.tags.insert()
        upsert = insert(t.tags)
        self.upsert_tags = upsert.on_conflict_do_update(
            index_elements=["run_uuid", "key"], set_={"value": upsert.excluded.value}
        )
        self.rename_run = t.runs.update().where(t.runs.c.run_uuid == run_id).values(name=sa.bindparam("new_name"))
        self.select_params = sa.select(t.params.c.key, t.params.c.value).where(
            t.params.c.run_uuid == run_id, t.params.c.key.in_(sa.bindparam("keys", expanding=True))
        )
        self.insert_params = t.params.insert()
        self.end_run = (
            t.runs.update()
            .where(t.runs.c.run_uuid == run_id)
            .values(status=sa.bindparam("new_status"), end_time=sa.bindparam("new_end_time"))
        )


class SqlTrackingStore(SqlExperimentStore):
    """Implements :class:`~dockyard.tracking.store.TrackingStore` on a :class:`~dockyard.db.Database`.

    Experiments come from :class:`~dockyard.tracking.sql_experiments.SqlExperimentStore`; this class
    adds runs, params, tags, metrics, datasets and logged models.
    """

    def __init__(self, db: Database, *, artifact_root: str) -> None:
        super().__init__(db, artifact_root=artifact_root)
        self._sql = _Statements(self._dialect_insert_fn())

    # ------------------------------------------------------------------ runs

    def create_run(self, experiment_id: str, user_id: str, start_time: int, run_name: str, tags: list[RunTag]) -> Run:
        run_id = uuid.uuid4().hex
        with self.db.write() as conn:
            key = experiment_key(experiment_id)
            exp = conn.execute(self._sql.select_experiment_for_run, {"experiment_id": key}).first()
            if exp is None:
                raise ExperimentNotFound(f"No Experiment with id={experiment_id} exists")
            if exp.lifecycle_stage != LifecycleStage.ACTIVE.value:
                raise InvalidParameter(f"Cannot create a run in deleted experiment {experiment_id!r}")
            artifact_uri = join_location(exp.artifact_location, run_id, "artifacts")
            conn.execute(
                self._sql.insert_run,
                {
                    "run_uuid": run_id,
                    "name": run_name,
                    "experiment_id": key,
                    "user_id": user_id,
                    "status": RunStatus.RUNNING.value,
                    "start_time": start_time,
                    "end_time": None,
                    "lifecycle_stage": LifecycleStage.ACTIVE.value,
                    "artifact_uri": artifact_uri,
                    "deleted_time": None,
                },
            )
            all_tags = {tag.key: tag.value for tag in tags}
            all_tags[RUN_NAME_TAG] = run_name
            conn.execute(
                self._sql.insert_tags, [{"run_uuid": run_id, "key": k, "value": v} for k, v in all_tags.items()]
            )
        info = RunInfo(
            run_id=run_id,
            experiment_id=str(key),
            run_name=run_name,
            user_id=user_id,
            status=RunStatus.RUNNING,
            start_time=start_time,
            end_time=None,
            artifact_uri=artifact_uri,
            lifecycle_stage=LifecycleStage.ACTIVE,
        )
        return Run(info, RunData(tags=all_tags))

    def _run_row(self, conn: sa.Connection, run_id: str, *, active: bool = False) -> Any:
        row = conn.execute(self._sql.select_run, {"run_id": run_id}).first()
        if row is None:
            raise RunNotFound(f"Run with id={run_id} not found")  # MLflow's words
        if active and row.lifecycle_stage != LifecycleStage.ACTIVE.value:
            raise RunNotActive(not_active_message(run_id, row.lifecycle_stage))
        return row

    @staticmethod
    def _info(row: Any) -> RunInfo:
        return RunInfo(
            run_id=row.run_uuid,
            experiment_id=str(row.experiment_id),
            run_name=row.name,
            user_id=row.user_id,
            status=RunStatus(row.status),
            start_time=row.start_time,
            end_time=row.end_time,
            artifact_uri=row.artifact_uri,
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        )

    def _load_runs(self, conn: sa.Connection, rows: Sequence[Any]) -> list[Run]:
        ids = [r.run_uuid for r in rows]
        params: dict[str, dict[str, str]] = defaultdict(dict)
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        metrics: dict[str, dict[str, Metric]] = defaultdict(dict)
        inputs: dict[str, dict[str, Dataset]] = defaultdict(dict)
        input_tags: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        lm, ri, ds, rit = t.latest_metrics, t.run_inputs, t.datasets, t.run_input_tags
        for chunk in chunks(ids):
            for row in conn.execute(sa.select(t.params).where(t.params.c.run_uuid.in_(chunk))):
                params[row.run_uuid][row.key] = row.value
            for row in conn.execute(sa.select(t.tags).where(t.tags.c.run_uuid.in_(chunk))):
                tags[row.run_uuid][row.key] = row.value
            for row in conn.execute(
                sa.select(lm.c.run_uuid, lm.c.key, lm.c.value, lm.c.timestamp, lm.c.step).where(
                    lm.c.run_uuid.in_(chunk)
                )
            ):
                metrics[row.run_uuid][row.key] = Metric(row.key, _py_value(row.value), row.timestamp, row.step)
            for row in conn.execute(
                sa.select(ri.c.run_uuid, ds)
                .join(ds, ds.c.dataset_uuid == ri.c.dataset_uuid)
                .where(ri.c.run_uuid.in_(chunk))
            ):
                inputs[row.run_uuid][row.dataset_uuid] = Dataset(
                    name=row.name,
                    digest=row.digest,
                    source_type=row.source_type,
                    source=row.source,
                    schema=row.schema,
                    profile=row.profile,
                )
            for row in conn.execute(sa.select(rit).where(rit.c.run_uuid.in_(chunk))):
                input_tags[(row.run_uuid, row.dataset_uuid)][row.key] = row.value
        outputs = sql_logged_models.outputs_of(conn, ids)
        model_inputs = sql_logged_models.inputs_of(conn, ids)
        return [
            Run(
                info=self._info(r),
                data=RunData(
                    metrics={k: m.value for k, m in metrics.get(r.run_uuid, {}).items()},
                    params=params.get(r.run_uuid, {}),
                    tags=tags.get(r.run_uuid, {}),
                    metric_objs=tuple(metrics.get(r.run_uuid, {}).values()),
                ),
                inputs=RunInputs(
                    tuple(
                        DatasetInput(dataset, input_tags.get((r.run_uuid, dataset_uuid), {}))
                        for dataset_uuid, dataset in sorted(
                            inputs.get(r.run_uuid, {}).items(), key=lambda kv: kv[1].name
                        )
                    ),
                    model_inputs=tuple(model_inputs.get(r.run_uuid, [])),
                ),
                outputs=tuple(outputs.get(r.run_uuid, [])),
            )
            for r in rows
        ]

    def get_run(self, run_id: str) -> Run:
        with self.db.read() as conn:
            return self._load_runs(conn, [self._run_row(conn, run_id)])[0]

    def update_run_info(
        self, run_id: str, status: RunStatus | None, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        with self.db.write() as conn:
            row = self._run_row(conn, run_id, active=True)
            values: dict[str, Any] = {}
            if status is not None:
                values["status"] = status.value
            if end_time is not None:
                values["end_time"] = end_time
            if run_name:
                values["name"] = run_name
                self._upsert_tags(conn, run_id, {RUN_NAME_TAG: run_name}, sync_name=False)
            if values:
                conn.execute(t.runs.update().where(t.runs.c.run_uuid == run_id).values(**values))
            return self._info(SimpleNamespace(**{**row._asdict(), **values}))

    def set_run_lifecycle(self, run_id: str, stage: LifecycleStage, when: int) -> None:
        with self.db.write() as conn:
            self._run_row(conn, run_id)
            conn.execute(
                t.runs.update()
                .where(t.runs.c.run_uuid == run_id)
                .values(
                    lifecycle_stage=stage.value,
                    deleted_time=when if stage is LifecycleStage.DELETED else None,
                )
            )

    def _upsert_tags(self, conn: sa.Connection, run_id: str, values: dict[str, str], *, sync_name: bool) -> None:
        conn.execute(self._sql.upsert_tags, [{"run_uuid": run_id, "key": k, "value": v} for k, v in values.items()])
        if sync_name and RUN_NAME_TAG in values:
            conn.execute(self._sql.rename_run, {"run_id": run_id, "new_name": values[RUN_NAME_TAG]})

    def _insert_params(self, conn: sa.Connection, run_id: str, params: list[Param]) -> None:
        wanted = {p.key: p.value for p in params}
        existing = {
            row.key: row.value
            for row in conn.execute(self._sql.select_params, {"run_id": run_id, "keys": list(wanted)})
        }
        for key, old in existing.items():
            if old != wanted[key]:
                raise ParamValueChanged(
                    f"Param {key!r} of run {run_id!r} is already {old!r}; params are immutable, "
                    f"so it cannot become {wanted[key]!r}"
                )
        new = [{"run_uuid": run_id, "key": k, "value": v} for k, v in wanted.items() if k not in existing]
        if new:
            conn.execute(self._sql.insert_params, new)

    def _insert_metrics(self, conn: sa.Connection, run_id: str, metrics: list[Metric]) -> None:
        sql_metrics.insert(conn, run_id, metrics, is_sqlite=self.db.is_sqlite)
        if any(m.model_id for m in metrics):
            sql_logged_models.insert_metrics(conn, run_id, metrics)

    def _check_active(self, conn: sa.Connection, run_id: str) -> None:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        stage = conn.exec_driver_sql(f"SELECT lifecycle_stage FROM runs WHERE run_uuid = {mark}", (run_id,)).scalar()  # noqa: S608  only the driver's parameter marker is interpolated; values are bound
        if stage is None:
            raise RunNotFound(f"Run with id={run_id} not found")  # MLflow's words
        if stage != LifecycleStage.ACTIVE.value:
            raise RunNotActive(not_active_message(run_id, stage))

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        end_time: int,
        metrics: list[Metric],
        params: list[Param],
        tags: list[RunTag],
    ) -> None:
        """The run's last values and its end status in one transaction: all of it, or none."""
        with self.db.write() as conn:
            self._check_active(conn, run_id)
            self._write_values(conn, run_id, metrics, params, tags)
            conn.execute(self._sql.end_run, {"run_id": run_id, "new_status": status.value, "new_end_time": end_time})

    def log_batch(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        with self.db.write() as conn:
            self._check_active(conn, run_id)
            self._write_values(conn, run_id, metrics, params, tags)

    def _write_values(
        self, conn: sa.Connection, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]
    ) -> None:
        if params:
            self._insert_params(conn, run_id, params)
        if tags:
            self._upsert_tags(conn, run_id, {tag.key: tag.value for tag in tags}, sync_name=True)
        if metrics:
            self._insert_metrics(conn, run_id, metrics)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            self._run_row(conn, run_id, active=True)
            result = conn.execute(t.tags.delete().where(t.tags.c.run_uuid == run_id, t.tags.c.key == key))
            if result.rowcount == 0:
                raise TagNotFound(f"No tag with name: {key} in run with id {run_id}")  # MLflow's words

    def log_inputs(self, run_id: str, datasets: list[DatasetInput], models: list[ModelInput]) -> None:
        ds, ri, rit = t.datasets, t.run_inputs, t.run_input_tags
        with self.db.write() as conn:
            run = self._run_row(conn, run_id, active=True)
            for model in models:
                sql_logged_models.check_exists(conn, model.model_id)
                conn.execute(
                    self._dialect_insert(t.run_model_inputs)
                    .values(run_uuid=run_id, model_id=model.model_id)
                    .on_conflict_do_nothing()
                )
            for item in datasets:
                d = item.dataset
                conn.execute(
                    self._dialect_insert(ds)
                    .values(
                        dataset_uuid=uuid.uuid4().hex,
                        experiment_id=run.experiment_id,
                        name=d.name,
                        digest=d.digest,
                        source_type=d.source_type,
                        source=d.source,
                        schema=d.schema,
                        profile=d.profile,
                    )
                    .on_conflict_do_nothing(index_elements=["experiment_id", "name", "digest"])
                )
                dataset_uuid = conn.execute(
                    sa.select(ds.c.dataset_uuid).where(
                        ds.c.experiment_id == run.experiment_id, ds.c.name == d.name, ds.c.digest == d.digest
                    )
                ).scalar_one()
                # A dataset the run already has keeps its first tags (its context), as MLflow keeps them.
                known = conn.execute(
                    sa.select(ri.c.run_uuid).where(ri.c.run_uuid == run_id, ri.c.dataset_uuid == dataset_uuid)
                ).first()
                if known is not None:
                    continue
                conn.execute(
                    self._dialect_insert(ri).values(run_uuid=run_id, dataset_uuid=dataset_uuid).on_conflict_do_nothing()
                )
                if item.tags:
                    stmt = self._dialect_insert(rit).values(
                        [
                            {"run_uuid": run_id, "dataset_uuid": dataset_uuid, "key": k, "value": v}
                            for k, v in item.tags.items()
                        ]
                    )
                    conn.execute(
                        stmt.on_conflict_do_update(
                            index_elements=["run_uuid", "dataset_uuid", "key"], set_={"value": stmt.excluded.value}
                        )
                    )

    def get_metric_history(self, run_id: str, key: str, max_results: int, page_token: str | None) -> Page[Metric]:
        m, lm = t.metrics, t.latest_metrics
        after: list[int] | None = None
        if page_token:
            after = decode_token(page_token).get("after")
            if not (isinstance(after, list) and len(after) == 3 and all(isinstance(x, int) for x in after)):
                raise InvalidParameter(f"page_token {page_token!r} is invalid: not a metric-history token")
        with self.db.read() as conn:
            self._run_row(conn, run_id)
            series_id = conn.execute(sa.select(lm.c.series_id).where(lm.c.run_uuid == run_id, lm.c.key == key)).scalar()
            if series_id is None:
                return Page([])
            query = sa.select(m.c.step, m.c.timestamp, m.c.value, m.c.id).where(m.c.series_id == series_id)
            if after is not None:
                query = query.where(sa.tuple_(m.c.step, m.c.timestamp, m.c.id) > sa.tuple_(*after))
            query = query.order_by(m.c.step, m.c.timestamp, m.c.id).limit(max_results + 1)
            rows = conn.execute(query).all()
        more = len(rows) > max_results
        rows = rows[:max_results]
        items = [Metric(key, _py_value(value), timestamp, step, run_id) for step, timestamp, value, _ in rows]
        token = encode_token({"after": [*rows[-1][0:2], rows[-1][3]]}) if more else ""
        return Page(items, token)

    def get_metric_histories(self, run_ids: list[str], key: str, max_per_run: int) -> list[Metric]:
        """The first ``max_per_run`` points (by step) of metric ``key`` for each of ``run_ids``."""
        m, lm = t.metrics, t.latest_metrics
        out: list[Metric] = []
        with self.db.read() as conn:
            known: set[str] = set()
            for chunk in chunks(run_ids):
                known.update(conn.execute(sa.select(t.runs.c.run_uuid).where(t.runs.c.run_uuid.in_(chunk))).scalars())
            missing = [r for r in run_ids if r not in known]
            if missing:
                raise RunNotFound(f"Run with id={missing[0]} not found")
            for run_id in dict.fromkeys(run_ids):
                rows = conn.execute(
                    sa.select(m.c.step, m.c.timestamp, m.c.value)
                    .join(lm, lm.c.series_id == m.c.series_id)
                    .where(lm.c.run_uuid == run_id, lm.c.key == key)
                    .order_by(m.c.step, m.c.timestamp, m.c.id)
                    .limit(max_per_run)
                )
                out.extend(Metric(key, _py_value(v), ts, st, run_id) for st, ts, v in rows)
        return out

    def get_metric_history_downsampled(
        self, run_id: str, key: str, buckets: int, start_step: int | None, end_step: int | None
    ) -> list[Metric]:
        with self.db.read() as conn:
            self._run_row(conn, run_id)
            return sql_metrics.downsampled(conn, run_id, key, buckets, start_step, end_step)

    def search_runs(
        self,
        experiment_ids: list[str],
        filter_expr: Expr | None,
        view_type: ViewType,
        max_results: int,
        order_by: list[OrderKey],
        page_token: str | None,
    ) -> Page[Run]:
        offset = offset_from_token(page_token)
        keys = []
        for experiment_id in experiment_ids:
            try:
                keys.append(int(experiment_id))
            except (TypeError, ValueError):
                raise InvalidParameter(f"experiment_ids: {experiment_id!r} is not an experiment id") from None
        runs = t.runs
        query = sa.select(runs).where(
            runs.c.experiment_id.in_(keys),
            runs.c.lifecycle_stage.in_([s.value for s in view_type.stages()]),
        )
        condition = sql_search.run_filter(filter_expr)
        if condition is not None:
            query = query.where(condition)
        query = sql_search.run_ordering(query, order_by).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            items = self._load_runs(conn, rows[:max_results])
        return Page(items, next_offset_token(offset, max_results, len(rows) > max_results))

    # ------------------------------------------------------------------ logged models (MLflow 3)

    def create_logged_model(
        self,
        experiment_id: str,
        name: str,
        model_type: str | None,
        source_run_id: str | None,
        params: dict[str, str],
        tags: dict[str, str],
        creator_id: str | None,
    ) -> LoggedModel:
        # source_run_id is kept as given, as MLflow keeps it: the run may live on another server, or
        # be logged after the model (MLflow's clients do not order the two calls).
        with self.db.write() as conn:
            model_id = sql_logged_models.create(
                conn, experiment_key(experiment_id), name, model_type, source_run_id, params, tags, creator_id
            )
            return sql_logged_models.get(conn, model_id)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        with self.db.read() as conn:
            return sql_logged_models.get(conn, model_id)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        with self.db.write() as conn:
            sql_logged_models.check_exists(conn, model_id)
            sql_logged_models.touch(conn, model_id, status=status.value)
            return sql_logged_models.get(conn, model_id)

    def delete_logged_model(self, model_id: str) -> None:
        with self.db.write() as conn:
            sql_logged_models.check_exists(conn, model_id)
            sql_logged_models.touch(conn, model_id, lifecycle_stage=LifecycleStage.DELETED.value)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, str]) -> None:
        with self.db.write() as conn:
            sql_logged_models.check_exists(conn, model_id)
            if tags:
                sql_logged_models.upsert_pairs(conn, self._dialect_insert_fn(), t.logged_model_tags, model_id, tags)
            sql_logged_models.touch(conn, model_id)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        lmt = t.logged_model_tags
        with self.db.write() as conn:
            sql_logged_models.check_exists(conn, model_id)
            if conn.execute(lmt.delete().where(lmt.c.model_id == model_id, lmt.c.key == key)).rowcount == 0:
                raise TagNotFound(f"No tag with key {key!r} found for model with ID {model_id!r}.")  # MLflow's words

    def log_logged_model_params(self, model_id: str, params: dict[str, str]) -> None:
        with self.db.write() as conn:
            sql_logged_models.check_exists(conn, model_id)
            if params:
                sql_logged_models.upsert_pairs(conn, self._dialect_insert_fn(), t.logged_model_params, model_id, params)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_expr: Expr | None,
        order_by: list[OrderKey],
        max_results: int,
        page_token: str | None,
        datasets: list[DatasetRef] | None = None,
    ) -> Page[LoggedModel]:
        offset = offset_from_token(page_token)
        with self.db.read() as conn:
            models = sql_logged_models.search(
                conn,
                [experiment_key(e) for e in experiment_ids],
                filter_expr,
                order_by,
                offset,
                max_results + 1,
                datasets or [],
            )
        return Page(models[:max_results], next_offset_token(offset, max_results, len(models) > max_results))

    def search_datasets(self, experiment_ids: list[str], limit: int) -> list[DatasetSummary]:
        """Each distinct (dataset, context) used by runs of the experiments, at most ``limit`` of them."""
        ds, ri, rit = t.datasets, t.run_inputs, t.run_input_tags
        context = (
            sa.select(rit.c.value)
            .where(rit.c.run_uuid == ri.c.run_uuid, rit.c.dataset_uuid == ri.c.dataset_uuid, rit.c.key == CONTEXT_TAG)
            .scalar_subquery()
        )
        query = (
            sa.select(ds.c.experiment_id, ds.c.name, ds.c.digest, context.label("context"))
            .join(ri, ri.c.dataset_uuid == ds.c.dataset_uuid)
            .where(ds.c.experiment_id.in_([experiment_key(e) for e in experiment_ids]))
            .distinct()
            .order_by(ds.c.experiment_id, ds.c.name, ds.c.digest, "context")
            .limit(limit)
        )
        with self.db.read() as conn:
            return [DatasetSummary(str(r.experiment_id), r.name, r.digest, r.context) for r in conn.execute(query)]

    def log_outputs(self, run_id: str, outputs: list[ModelOutput]) -> None:
        stmt = self._dialect_insert(t.run_outputs)
        with self.db.write() as conn:
            self._check_active(conn, run_id)
            for output in outputs:
                sql_logged_models.check_exists(conn, output.model_id)
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["run_uuid", "model_id"], set_={"step": stmt.excluded.step}),
                [{"run_uuid": run_id, "model_id": o.model_id, "step": o.step} for o in outputs],
            )
