"""The tracking interface: what the local :class:`~dockyard.tracking.service.TrackingService` and the remote
:class:`~dockyard.tracking.remote.RemoteTrackingService` both offer, checked structurally by mypy (no casts) and
behaviourally by the contract suite in ``tests/tracking/contract.py``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from dockyard.core.paging import Page
from dockyard.tracking import validation as v
from dockyard.tracking.entities import (
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    Experiment,
    ExperimentKeys,
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


class TrackingAPI(Protocol):
    """Experiments, runs, params, metrics, tags, dataset inputs and logged models, validated; local or remote."""

    checks: v.EntityChecks  # the validation both apply before a value is queued or sent

    def close(self) -> None:
        """Nothing to release here: the store's engine is shared, and its backend disposes of it
        (:func:`dockyard.tracking.backends.close_all`)."""
        ...

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str: ...

    def get_experiment(self, experiment_id: str) -> Experiment: ...

    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    def search_experiments(
        self,
        view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]: ...

    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    def delete_experiment(self, experiment_id: str) -> None: ...

    def restore_experiment(self, experiment_id: str) -> None: ...

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None: ...

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    def create_run(
        self,
        experiment_id: str,
        user_id: str | None = None,
        start_time: int | None = None,
        run_name: str | None = None,
        tags: dict[str, Any] | Iterable[RunTag] | None = None,
    ) -> Run: ...

    def get_run(self, run_id: str) -> Run: ...

    def update_run(
        self,
        run_id: str,
        status: str | RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo: ...

    def set_terminated(
        self, run_id: str, status: str | RunStatus = RunStatus.FINISHED, end_time: int | None = None
    ) -> RunInfo: ...

    def delete_run(self, run_id: str) -> None: ...

    def restore_run(self, run_id: str) -> None: ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags in one transaction: all of them are stored, or none."""
        ...

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
        ...

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int = 0) -> None: ...

    def log_param(self, run_id: str, key: str, value: Any) -> None: ...

    def set_tag(self, run_id: str, key: str, value: Any) -> None: ...

    def delete_tag(self, run_id: str, key: str) -> None: ...

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = (), models: Sequence[ModelInput] = ()) -> None:
        """Record the datasets (and, MLflow 3, the logged models) a run used."""
        ...

    def get_metric_history(
        self, run_id: str, key: str, max_results: int = v.MAX_METRIC_HISTORY_PAGE, page_token: str | None = None
    ) -> Page[Metric]: ...

    def get_metric_histories(
        self, run_ids: Sequence[str], key: str, max_results: int = v.MAX_METRIC_HISTORY_PAGE
    ) -> list[Metric]:
        """Histories of one metric for many runs in one call (each point carries its ``run_id``)."""
        ...

    def get_metric_history_downsampled(
        self,
        run_id: str,
        key: str,
        max_points: int = 1000,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        """At most ``max_points`` points of a history: each step bucket's minimum and maximum."""
        ...

    def experiment_run_stats(self, experiment_ids: Sequence[str]) -> list[RunStats]:
        """How many active runs each experiment holds and when the latest started (the UI's experiment list)."""
        ...

    def experiment_keys(self, experiment_ids: Sequence[str]) -> ExperimentKeys:
        """The param, metric and tag keys of the experiments' latest ``KEYS_SCAN_RUNS`` active runs, sorted,
        at most ``MAX_EXPERIMENT_KEYS`` of each kind (the UI's column picker); see ``ExperimentKeys``."""
        ...

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[Run]: ...

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
        ...

    def get_logged_model(self, model_id: str) -> LoggedModel: ...

    def finalize_logged_model(self, model_id: str, status: str | LoggedModelStatus) -> LoggedModel: ...

    def delete_logged_model(self, model_id: str) -> None: ...

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None: ...

    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...

    def log_logged_model_params(self, model_id: str, params: dict[str, Any]) -> None: ...

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 50,
        page_token: str | None = None,
        datasets: Sequence[DatasetRef] | None = None,
    ) -> Page[LoggedModel]: ...

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """The datasets runs of 1 to 20 experiments used: one summary per dataset and context."""
        ...

    def log_outputs(self, run_id: str, outputs: Sequence[ModelOutput]) -> None:
        """Record the logged models a run produced (MLflow 3's ``runs/outputs``)."""
        ...
