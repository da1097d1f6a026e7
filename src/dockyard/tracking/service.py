"""The tracking service: validation and rules over a :class:`~dockyard.tracking.store.TrackingStore`.

It implements :class:`~dockyard.tracking.protocol.TrackingAPI`, as the remote client
(:mod:`dockyard.tracking.remote`) does, and the contract suite in ``tests/tracking/contract.py`` checks
both. Method names and arguments follow MLflow's ``MlflowClient`` so the server's handlers can map REST
calls one to one.

>>> from dockyard.db import Database
>>> from dockyard.tracking.sql_store import SqlTrackingStore
>>> svc = TrackingService(SqlTrackingStore(Database("sqlite://"), artifact_root="/tmp/a"))
>>> svc.get_experiment("0").name
'Default'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dockyard.core import validation as cv
from dockyard.core.clock import now_ms
from dockyard.core.errors import InvalidParameter
from dockyard.core.paging import Page
from dockyard.core.search import parse_filter, parse_order_by
from dockyard.tracking import validation as v
from dockyard.tracking.entities import (
    KEYS_SCAN_RUNS,
    MAX_EXPERIMENT_KEYS,
    Dataset,
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    Experiment,
    ExperimentKeys,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelInput,
    ModelOutput,
    Param,
    Run,
    RunInfo,
    RunStats,
    RunStatus,
    RunTag,
    ViewType,
)
from dockyard.tracking.names import random_run_name
from dockyard.tracking.store import TrackingStore

MAX_DATASET_EXPERIMENTS = 20  # experiments per dataset search, as MLflow's server allows
MAX_DATASET_SUMMARIES = 1000  # summaries per answer, as MLflow's server caps them


def _view_type(value: str | ViewType, field: str) -> ViewType:
    try:
        return ViewType.parse(value)
    except ValueError as exc:
        raise InvalidParameter(f"{field}: {exc}") from None


def _order_by(order_by: Sequence[str] | None) -> list[str]:
    if order_by is None:
        return []
    if isinstance(order_by, str) or not all(isinstance(o, str) for o in order_by):
        raise InvalidParameter("order_by must be a list of strings such as ['metrics.rmse DESC']")
    return list(order_by)


class TrackingService:
    """Experiments, runs, params, metrics, tags and dataset inputs, validated."""

    def __init__(self, store: TrackingStore) -> None:
        self.store = store
        self.checks = v.EntityChecks()

    def close(self) -> None:
        """Nothing to release here: the store's engine is shared, and its backend disposes of it
        (:func:`dockyard.tracking.backends.close_all`)."""

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        name = v.check_experiment_name(name)
        if artifact_location is not None and not isinstance(artifact_location, str):
            raise InvalidParameter("artifact_location must be a string")
        checked = {
            v.check_key(k, "experiment tag key"): v.check_string(
                val, f"experiment tag {k!r} value", v.MAX_TAG_VALUE_LENGTH
            )
            for k, val in (tags or {}).items()
        }
        return self.store.create_experiment(name, artifact_location or None, checked)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(v.check_experiment_id(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(v.check_experiment_name(name, "experiment_name"))

    def search_experiments(
        self,
        view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        return self.store.search_experiments(
            _view_type(view_type, "view_type"),
            cv.check_max_results(max_results, v.MAX_SEARCH_EXPERIMENTS),
            parse_filter(filter_string, "experiments"),
            parse_order_by(_order_by(order_by), "experiments"),
            page_token or None,
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(
            v.check_experiment_id(experiment_id), v.check_experiment_name(new_name, "new_name")
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.set_experiment_lifecycle(v.check_experiment_id(experiment_id), LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.set_experiment_lifecycle(v.check_experiment_id(experiment_id), LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.store.set_experiment_tag(
            v.check_experiment_id(experiment_id),
            v.check_key(key, "experiment tag key"),
            v.check_string(value, f"experiment tag {key!r} value", v.MAX_TAG_VALUE_LENGTH),
        )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(v.check_experiment_id(experiment_id), v.check_key(key, "experiment tag key"))

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str,
        user_id: str | None = None,
        start_time: int | None = None,
        run_name: str | None = None,
        tags: dict[str, Any] | Iterable[RunTag] | None = None,
    ) -> Run:
        experiment_id = v.check_experiment_id(experiment_id)
        checked = self.checks.tags(tags)
        if run_name is not None and not isinstance(run_name, str):
            raise InvalidParameter(f"run_name must be a string, got {type(run_name).__name__}")
        name = run_name or next((tag.value for tag in checked if tag.key == "mlflow.runName"), "") or random_run_name()
        v.check_string(name, "run_name", v.MAX_RUN_NAME_LENGTH)
        user = v.check_string(user_id if user_id is not None else "unknown", "user_id", 256)
        start = now_ms() if start_time is None else v.check_int(start_time, "start_time", minimum=0)
        return self.store.create_run(experiment_id, user, start, name, checked)

    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(v.check_run_id(run_id))

    def update_run(
        self,
        run_id: str,
        status: str | RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        parsed: RunStatus | None = None
        if status is not None:
            try:
                parsed = RunStatus.parse(status)
            except ValueError as exc:
                raise InvalidParameter(f"status: {exc}") from None
        if end_time is not None:
            end_time = v.check_int(end_time, "end_time", minimum=0)
        if run_name is not None:
            v.check_string(run_name, "run_name", v.MAX_RUN_NAME_LENGTH)
        return self.store.update_run_info(v.check_run_id(run_id), parsed, end_time, run_name or None)

    def set_terminated(
        self, run_id: str, status: str | RunStatus = RunStatus.FINISHED, end_time: int | None = None
    ) -> RunInfo:
        return self.update_run(run_id, status=status, end_time=now_ms() if end_time is None else end_time)

    def delete_run(self, run_id: str) -> None:
        self.store.set_run_lifecycle(v.check_run_id(run_id), LifecycleStage.DELETED, now_ms())

    def restore_run(self, run_id: str) -> None:
        self.store.set_run_lifecycle(v.check_run_id(run_id), LifecycleStage.ACTIVE, now_ms())

    # ------------------------------------------------------------------ logging

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags in one transaction: all of them are stored, or none."""
        run_id = v.check_run_id(run_id)
        checked_metrics, checked_params, checked_tags = self._batch(metrics, params, tags)
        if checked_metrics or checked_params or checked_tags:
            self.store.log_batch(run_id, checked_metrics, checked_params, checked_tags)
        else:
            self.store.get_run(run_id)  # an empty batch still needs an existing run

    def _batch(
        self, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> tuple[list[Metric], list[Param], list[RunTag]]:
        """Validated values of one batch, within MLflow's per-call limits."""
        if len(metrics) > v.MAX_BATCH_METRICS or len(params) > v.MAX_BATCH_PARAMS or len(tags) > v.MAX_BATCH_TAGS:
            raise InvalidParameter(
                f"log_batch takes at most {v.MAX_BATCH_METRICS} metrics, {v.MAX_BATCH_PARAMS} params and "
                f"{v.MAX_BATCH_TAGS} tags per call; got {len(metrics)}, {len(params)} and {len(tags)}"
            )
        if len(metrics) + len(params) + len(tags) > v.MAX_BATCH_ENTITIES:
            raise InvalidParameter(f"log_batch takes at most {v.MAX_BATCH_ENTITIES} entities per call")
        checked_params = [self.checks.param(p) for p in params]
        seen: dict[str, str] = {}
        for p in checked_params:
            if seen.setdefault(p.key, p.value) != p.value:
                raise InvalidParameter(f"param {p.key!r} appears twice in one batch with different values")
        return [self.checks.metric(m) for m in metrics], checked_params, self.checks.tags(tags)

    def finish_run(
        self,
        run_id: str,
        status: str | RunStatus = RunStatus.FINISHED,
        end_time: int | None = None,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """A run's last values (one batch at most) and its end, in one transaction: all of it or none."""
        try:
            parsed = RunStatus.parse(status)
        except ValueError as exc:
            raise InvalidParameter(f"status: {exc}") from None
        end = now_ms() if end_time is None else v.check_int(end_time, "end_time", minimum=0)
        checked = self._batch(metrics, params, tags)
        self.store.finish_run(v.check_run_id(run_id), parsed, end, *checked)

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int = 0) -> None:
        self.log_batch(run_id, metrics=[Metric(key, value, now_ms() if timestamp is None else timestamp, step)])

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, params=[Param(key, value)])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags=[RunTag(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(v.check_run_id(run_id), v.check_key(key, "tag key"))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = (), models: Sequence[ModelInput] = ()) -> None:
        """Record the datasets (and, MLflow 3, the logged models) a run used."""
        checked: list[DatasetInput] = []
        for i, item in enumerate(datasets):
            if not isinstance(item, DatasetInput) or not isinstance(item.dataset, Dataset):
                raise InvalidParameter(f"datasets[{i}] must be a DatasetInput")
            d = item.dataset
            v.check_string(d.name, f"datasets[{i}].name", 500, allow_empty=False)
            v.check_string(d.digest, f"datasets[{i}].digest", 64, allow_empty=False)
            v.check_string(d.source_type, f"datasets[{i}].source_type", 36, allow_empty=False)
            for k, val in item.tags.items():
                v.check_key(k, f"datasets[{i}] tag key")
                v.check_string(val, f"datasets[{i}] tag {k!r} value", v.MAX_TAG_VALUE_LENGTH)
            checked.append(item)
        checked_models = [ModelInput(self._model_id(m.model_id)) for m in models]
        if checked or checked_models:
            self.store.log_inputs(v.check_run_id(run_id), checked, checked_models)
        else:
            self.store.get_run(v.check_run_id(run_id))

    def get_metric_history(
        self, run_id: str, key: str, max_results: int = v.MAX_METRIC_HISTORY_PAGE, page_token: str | None = None
    ) -> Page[Metric]:
        return self.store.get_metric_history(
            v.check_run_id(run_id),
            v.check_key(key, "metric_key"),
            cv.check_max_results(max_results, v.MAX_METRIC_HISTORY_PAGE),
            page_token or None,
        )

    def get_metric_histories(
        self, run_ids: Sequence[str], key: str, max_results: int = v.MAX_METRIC_HISTORY_PAGE
    ) -> list[Metric]:
        """Histories of one metric for many runs in one call (each point carries its ``run_id``)."""
        if isinstance(run_ids, str) or not run_ids:
            raise InvalidParameter("run_ids must be a non-empty list of run ids")
        if len(run_ids) > 100:
            raise InvalidParameter(f"run_ids: at most 100 runs per call, got {len(run_ids)}")
        return self.store.get_metric_histories(
            [v.check_run_id(r, "run_ids") for r in run_ids],
            v.check_key(key, "metric_key"),
            cv.check_max_results(max_results, v.MAX_METRIC_HISTORY_PAGE),
        )

    def get_metric_history_downsampled(
        self,
        run_id: str,
        key: str,
        max_points: int = 1000,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        """At most ``max_points`` points of a history: each step bucket's minimum and maximum."""
        points = cv.check_max_results(max_points, v.MAX_METRIC_HISTORY_PAGE, "max_points")
        if points < 2:
            raise InvalidParameter("max_points must be at least 2 (a minimum and a maximum per bucket)")
        start = None if start_step is None else v.check_int(start_step, "start_step")
        end = None if end_step is None else v.check_int(end_step, "end_step")
        if start is not None and end is not None and end < start:
            raise InvalidParameter(f"end_step {end} is before start_step {start}")
        return self.store.get_metric_history_downsampled(
            v.check_run_id(run_id), v.check_key(key, "metric_key"), points // 2, start, end
        )

    def experiment_run_stats(self, experiment_ids: Sequence[str]) -> list[RunStats]:
        """Each experiment's number of active runs and the start of its latest, in the order asked."""
        if isinstance(experiment_ids, str):
            raise InvalidParameter("experiment_ids must be a list of experiment ids, not a string")
        return self.store.experiment_run_stats([str(e) for e in experiment_ids])

    def experiment_keys(self, experiment_ids: Sequence[str]) -> ExperimentKeys:
        """The param, metric and tag keys of the experiments' latest ``KEYS_SCAN_RUNS`` active runs, sorted,
        at most ``MAX_EXPERIMENT_KEYS`` of each kind; ``truncated`` says that a bound cut something."""
        if isinstance(experiment_ids, str):
            raise InvalidParameter("experiment_ids must be a list of experiment ids, not a string")
        return self.store.experiment_keys([str(e) for e in experiment_ids], MAX_EXPERIMENT_KEYS, KEYS_SCAN_RUNS)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[Run]:
        if isinstance(experiment_ids, str) or not experiment_ids:
            raise InvalidParameter("experiment_ids must be a non-empty list of experiment ids")
        return self.store.search_runs(
            [v.check_experiment_id(e, "experiment_ids") for e in experiment_ids],
            parse_filter(filter_string, "runs"),
            _view_type(run_view_type, "run_view_type"),
            cv.check_max_results(max_results, v.MAX_SEARCH_RUNS),
            parse_order_by(_order_by(order_by), "runs"),
            page_token or None,
        )

    # ------------------------------------------------------------------ logged models (MLflow 3)

    @staticmethod
    def _model_id(model_id: Any) -> str:
        if (
            not isinstance(model_id, str)
            or not model_id.startswith("m-")
            or not v.check_run_id(model_id[2:], "model_id")
        ):
            raise InvalidParameter(f"model_id {model_id!r} is not a logged model id (m-<hex>)")
        return model_id

    def _pairs(self, values: dict[str, Any] | None, what: str, limit: int) -> dict[str, str]:
        return {
            v.check_key(k, f"{what} key"): v.check_string(val, f"{what} {k!r} value", limit)
            for k, val in (values or {}).items()
        }

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        creator_id: str | None = None,
    ) -> LoggedModel:
        """A new logged model (status PENDING) in an experiment, optionally linked to the run that made it."""
        chosen = name or random_run_name()
        v.check_string(chosen, "name", 500)
        return self.store.create_logged_model(
            v.check_experiment_id(experiment_id),
            chosen,
            None if model_type is None else v.check_string(model_type, "model_type", 500),
            None if not source_run_id else v.check_run_id(source_run_id, "source_run_id"),
            self._pairs(params, "param", v.MAX_PARAM_VALUE_LENGTH),
            self._pairs(tags, "tag", v.MAX_TAG_VALUE_LENGTH),
            creator_id,
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self.store.get_logged_model(self._model_id(model_id))

    def finalize_logged_model(self, model_id: str, status: str | LoggedModelStatus) -> LoggedModel:
        try:
            parsed = LoggedModelStatus.parse(status)
        except ValueError as exc:
            raise InvalidParameter(f"status: {exc}") from None
        return self.store.finalize_logged_model(self._model_id(model_id), parsed)

    def delete_logged_model(self, model_id: str) -> None:
        self.store.delete_logged_model(self._model_id(model_id))

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        self.store.set_logged_model_tags(self._model_id(model_id), self._pairs(tags, "tag", v.MAX_TAG_VALUE_LENGTH))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.store.delete_logged_model_tag(self._model_id(model_id), v.check_key(key, "tag key"))

    def log_logged_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        self.store.log_logged_model_params(
            self._model_id(model_id), self._pairs(params, "param", v.MAX_PARAM_VALUE_LENGTH)
        )

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 50,
        page_token: str | None = None,
        datasets: Sequence[DatasetRef] | None = None,
    ) -> Page[LoggedModel]:
        """Logged models of the experiments; with ``datasets``, only those with a metric on one of them."""
        if isinstance(experiment_ids, str) or not experiment_ids:
            raise InvalidParameter("experiment_ids must be a non-empty list of experiment ids")
        refs = []
        for i, ref in enumerate(datasets or ()):
            if not isinstance(ref, DatasetRef) or not isinstance(ref.name, str) or not ref.name:
                raise InvalidParameter(f"datasets[{i}]: a dataset needs a dataset_name")
            refs.append(ref)
        return self.store.search_logged_models(
            [v.check_experiment_id(e, "experiment_ids") for e in experiment_ids],
            parse_filter(filter_string, "logged_models"),
            parse_order_by(_order_by(order_by), "logged_models"),
            cv.check_max_results(max_results, v.MAX_SEARCH_RUNS),
            page_token or None,
            refs,
        )

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """The datasets runs of 1 to 20 experiments used, one summary per dataset and context."""
        if isinstance(experiment_ids, str) or not experiment_ids:
            raise InvalidParameter("SearchDatasets request must specify at least one experiment_id.")
        if len(experiment_ids) > MAX_DATASET_EXPERIMENTS:
            raise InvalidParameter(
                f"SearchDatasets request cannot specify more than {MAX_DATASET_EXPERIMENTS} experiment_ids. "
                f"Received {len(experiment_ids)} experiment_ids."
            )
        return self.store.search_datasets(
            [v.check_experiment_id(e, "experiment_ids") for e in experiment_ids], MAX_DATASET_SUMMARIES
        )

    def log_outputs(self, run_id: str, outputs: Sequence[ModelOutput]) -> None:
        """Record the logged models a run produced (MLflow 3's ``runs/outputs``)."""
        checked = [ModelOutput(self._model_id(o.model_id), v.check_int(o.step, "step")) for o in outputs]
        if checked:
            self.store.log_outputs(v.check_run_id(run_id), checked)
