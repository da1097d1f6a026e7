"""The tracking store seam: what the service needs from persistence.

Inputs arrive already validated by :class:`~dockyard.tracking.service.TrackingService`; a store checks
only what needs the database (existence, lifecycle, param immutability) inside the same transaction as
the write, so a failed call leaves nothing behind. :class:`~dockyard.tracking.sql_store.SqlTrackingStore`
implements it for SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Protocol

from dockyard.core.paging import Page
from dockyard.core.search import Expr, OrderKey
from dockyard.tracking.entities import (
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


class TrackingStore(Protocol):
    # experiments
    def create_experiment(self, name: str, artifact_location: str | None, tags: dict[str, str]) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def search_experiments(
        self,
        view_type: ViewType,
        max_results: int,
        filter_expr: Expr | None,
        order_by: list[OrderKey],
        page_token: str | None,
    ) -> Page[Experiment]: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def set_experiment_lifecycle(self, experiment_id: str, stage: LifecycleStage) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # runs
    def create_run(
        self, experiment_id: str, user_id: str, start_time: int, run_name: str, tags: list[RunTag]
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def update_run_info(
        self, run_id: str, status: RunStatus | None, end_time: int | None, run_name: str | None
    ) -> RunInfo: ...
    def set_run_lifecycle(self, run_id: str, stage: LifecycleStage, when: int) -> None: ...
    def log_batch(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None: ...
    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        end_time: int,
        metrics: list[Metric],
        params: list[Param],
        tags: list[RunTag],
    ) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_inputs(self, run_id: str, datasets: list[DatasetInput], models: list[ModelInput]) -> None: ...
    def get_metric_history(self, run_id: str, key: str, max_results: int, page_token: str | None) -> Page[Metric]: ...
    def get_metric_histories(self, run_ids: list[str], key: str, max_per_run: int) -> list[Metric]: ...
    def get_metric_history_downsampled(
        self, run_id: str, key: str, buckets: int, start_step: int | None, end_step: int | None
    ) -> list[Metric]: ...
    def experiment_run_stats(self, experiment_ids: list[str]) -> list[RunStats]: ...
    def experiment_keys(self, experiment_ids: list[str], max_keys: int, max_runs: int) -> ExperimentKeys: ...
    def search_runs(
        self,
        experiment_ids: list[str],
        filter_expr: Expr | None,
        view_type: ViewType,
        max_results: int,
        order_by: list[OrderKey],
        page_token: str | None,
    ) -> Page[Run]: ...

    # logged models (MLflow 3)
    def create_logged_model(
        self,
        experiment_id: str,
        name: str,
        model_type: str | None,
        source_run_id: str | None,
        params: dict[str, str],
        tags: dict[str, str],
        creator_id: str | None,
    ) -> LoggedModel: ...
    def get_logged_model(self, model_id: str) -> LoggedModel: ...
    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel: ...
    def delete_logged_model(self, model_id: str) -> None: ...
    def set_logged_model_tags(self, model_id: str, tags: dict[str, str]) -> None: ...
    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...
    def log_logged_model_params(self, model_id: str, params: dict[str, str]) -> None: ...
    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_expr: Expr | None,
        order_by: list[OrderKey],
        max_results: int,
        page_token: str | None,
        datasets: list[DatasetRef] | None = None,
    ) -> Page[LoggedModel]: ...
    def search_datasets(self, experiment_ids: list[str], limit: int) -> list[DatasetSummary]: ...
    def log_outputs(self, run_id: str, outputs: list[ModelOutput]) -> None: ...
