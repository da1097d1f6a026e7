"""The tracking half of ``mlflow.MlflowClient``: experiments, runs, metrics, artifacts, logged models.

:class:`dockyard.Client` (:mod:`dockyard.lifecycle.client`) adds the model registry's methods to it.

It picks its backend from the tracking URI (the embedded SQLite default, PostgreSQL, or a tracking
server over http(s)), adds artifacts, chunked batches and optional non-blocking logging on top of the service, and
hands back the same entities whichever backend is behind it.

>>> import tempfile
>>> client = TrackingClient(tempfile.mkdtemp())
>>> run = client.create_run("0")
>>> client.log_metric(run.info.run_id, "loss", 0.5)
>>> client.get_run(run.info.run_id).data.metrics
{'loss': 0.5}
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.artifacts.base import FileInfo
from dockyard.artifacts.registry import artifact_store_for_uri
from dockyard.core.clock import now_ms
from dockyard.core.config import Settings
from dockyard.core.errors import InvalidParameter, LoggingFailed, ParamValueChanged, RunNotActive
from dockyard.core.identity import current_user
from dockyard.core.paging import Page
from dockyard.tracking.async_logger import AsyncLogger, fits_one_call, write_chunked, write_values
from dockyard.tracking.backends import open_tracking
from dockyard.tracking.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelInput,
    ModelOutput,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from dockyard.artifacts import ArtifactStore
    from dockyard.tracking.protocol import TrackingAPI


class TrackingClient:
    """Experiments, runs, metrics, params, tags, datasets and artifacts against one tracking store.

    ``synchronous`` on the logging methods: ``True`` (the default for the client, as in MLflow) writes
    before returning; ``False`` queues the value for the background writer (see ``docs/tracking.md``).
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        settings: Settings | None = None,
        service: TrackingAPI | None = None,
    ) -> None:
        settings = settings or Settings.from_env()
        if tracking_uri is not None:
            settings = settings.with_tracking_uri(tracking_uri)
        self.settings = settings
        if service is None:
            service = open_tracking(settings)
        self._service = service
        self._artifact_uris: dict[str, str] = {}
        self._logger: AsyncLogger | None = None
        self._logger_lock = threading.Lock()
        self._queued_params: dict[str, dict[str, str]] = {}  # run -> params queued in the background
        self._artifact_pool: ThreadPoolExecutor | None = None
        self._artifact_jobs: list[Future[None]] = []

    @property
    def tracking_uri(self) -> str:
        return self.settings.tracking_uri

    # ------------------------------------------------------------------ background logging

    @property
    def logger(self) -> AsyncLogger:
        if self._logger is None:
            with self._logger_lock:
                if self._logger is None:
                    self._logger = AsyncLogger(
                        self._service.log_batch,
                        interval=self.settings.flush_interval,
                        max_pending=self.settings.log_queue_size,
                    )
        return self._logger

    def flush(self, *, artifacts: bool = True) -> None:
        """Write every queued value (and, unless ``artifacts=False``, every background artifact) now.

        Raises :class:`~dockyard.core.errors.LoggingFailed` for a background write that failed.
        """
        if self._logger is not None:
            self._logger.flush()
        if artifacts:
            self._wait_for_artifacts()

    def write_artifact_in_background(self, run_id: str, artifact_file: str, data: bytes) -> None:
        """Write a small artifact from a background thread; ``flush`` (and so ``end_run``) waits for it.

        File-system metadata calls (mkdir, create, rename) cost milliseconds on some disks and release
        the GIL, so they overlap with the caller's own work instead of adding to it.
        """
        from concurrent.futures import ThreadPoolExecutor

        store = self.artifact_store(run_id)
        with self._logger_lock:
            if self._artifact_pool is None:
                self._artifact_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockyard-artifacts")
            self._artifact_jobs.append(self._artifact_pool.submit(store.write_bytes, artifact_file, data))

    def _wait_for_artifacts(self) -> None:
        with self._logger_lock:
            jobs, self._artifact_jobs = self._artifact_jobs, []
        errors = [job.exception() for job in jobs]
        for error in errors:
            if error is not None:
                raise LoggingFailed(f"a background artifact write failed: {error}") from error

    def _read(self) -> TrackingAPI:
        # Reads see this client's own queued writes.
        if self._logger is not None and self._logger.pending:
            self._logger.flush()
        return self._service

    def close(self) -> None:
        try:
            if self._logger is not None:
                self._logger.close()
            self._wait_for_artifacts()
        finally:
            if self._artifact_pool is not None:
                self._artifact_pool.shutdown(wait=True)
                self._artifact_pool = None

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        return self._service.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._service.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._service.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        return self._service.search_experiments(view_type, max_results, filter_string, order_by, page_token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._service.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self._service.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self._service.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._service.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._service.delete_experiment_tag(experiment_id, key)

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        user_id: str | None = None,
    ) -> Run:
        if user_id is None:
            user_id = current_user()
        run = self._service.create_run(experiment_id, user_id, start_time, run_name, tags)
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        return run

    def get_run(self, run_id: str) -> Run:
        return self._read().get_run(run_id)

    def update_run(self, run_id: str, status: str | RunStatus | None = None, name: str | None = None) -> RunInfo:
        return self._service.update_run(run_id, status=status, run_name=name)

    def set_terminated(
        self, run_id: str, status: str | RunStatus = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        """End a run, writing its queued values first, so the run is complete when it says FINISHED.

        The last values and the end go in one transaction when they fit one batch. A value the store
        refuses (a param already set to something else) does not stop the run from ending: the other
        values are written, the run ends, then :class:`~dockyard.core.errors.LoggingFailed` is raised.
        Background artifact writes (the reproducibility files) may finish later; ``flush`` and
        ``close`` wait for them.
        """
        metrics: list[Metric] = []
        params: list[Param] = []
        tags: list[RunTag] = []
        if self._logger is not None:
            metrics, params, tags = self._logger.take(run_id)
            self._queued_params.pop(run_id, None)
        refused: InvalidParameter | None = None
        if fits_one_call(metrics, params, tags):
            try:
                self._service.finish_run(run_id, status, end_time, metrics, params, tags)
                metrics, params, tags = [], [], []
            except (ParamValueChanged, RunNotActive) as exc:
                refused = exc
                if isinstance(exc, RunNotActive):
                    raise
        if metrics or params or tags or refused is not None:
            try:
                write_values(self._service.log_batch, run_id, metrics, params, tags)
            except InvalidParameter as exc:
                refused = refused or exc
            self._service.set_terminated(run_id, status, end_time)
        if refused is not None:
            raise LoggingFailed(f"a value of run {run_id!r} was refused: {refused}") from refused
        if self._logger is not None:
            self._logger.raise_pending_error()

    def delete_run(self, run_id: str) -> None:
        self.flush()
        self._service.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._service.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str | None = None,
        run_view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[Run]:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        return self._read().search_runs(ids, filter_string, run_view_type, max_results, order_by, page_token)

    # ------------------------------------------------------------------ logging

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool = True,
        model_id: str | None = None,
    ) -> None:
        """Log one value; ``model_id`` also records it against that logged model (MLflow 3)."""
        ts = now_ms() if timestamp is None else timestamp
        metric = Metric(key, value, ts, 0 if step is None else step, model_id=model_id)
        if synchronous:
            self._service.log_batch(run_id, metrics=[metric])
        else:
            self.logger.log_metric(run_id, self._service.checks.metric(metric))

    def _queue_params(self, run_id: str, params: list[Param]) -> list[Param]:
        """Catch a changed param at the call rather than at the background write."""
        seen = self._queued_params.setdefault(run_id, {})
        for p in params:
            old = seen.get(p.key)
            if old is not None and old != p.value:
                raise ParamValueChanged(
                    f"Param {p.key!r} of run {run_id!r} is already {old!r}; params are immutable, "
                    f"so it cannot become {p.value!r}"
                )
        for p in params:
            seen[p.key] = p.value
        return params

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool = True) -> Any:
        param = Param(key, value)
        if synchronous:
            self._service.log_batch(run_id, params=[param])
        else:
            self.logger.log(run_id, params=self._queue_params(run_id, [self._service.checks.param(param)]))
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool = True) -> None:
        tag = RunTag(key, value)
        if synchronous:
            self._service.log_batch(run_id, tags=[tag])
        else:
            self.logger.log(run_id, tags=self._service.checks.tags([tag]))

    def delete_tag(self, run_id: str, key: str) -> None:
        self.flush()
        self._service.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool = True,
    ) -> None:
        """Log any number of values. All are validated before the first write; each chunk of at most
        1,000 values (MLflow's log_batch limit) is written all-or-nothing."""
        checked_metrics = [self._service.checks.metric(m) for m in metrics]
        checked_params = [self._service.checks.param(p) for p in params]
        checked_tags = self._service.checks.tags(tags)
        if not synchronous:
            self.logger.log(run_id, checked_metrics, self._queue_params(run_id, checked_params), checked_tags)
            return
        if len(checked_metrics) + len(checked_params) + len(checked_tags) == 0:
            self._service.log_batch(run_id)
            return
        write_chunked(self._service.log_batch, run_id, checked_metrics, checked_params, checked_tags)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric, in step order (all pages)."""
        service = self._read()
        page = service.get_metric_history(run_id, key)
        points = list(page.items)
        while page.next_page_token:
            page = service.get_metric_history(run_id, key, page_token=page.next_page_token)
            points.extend(page.items)
        return points

    def get_metric_histories(self, run_ids: Sequence[str], key: str, max_results: int = 25_000) -> list[Metric]:
        """One metric's history for many runs in one call; each point carries its ``run_id``."""
        return self._read().get_metric_histories(list(run_ids), key, max_results)

    def get_metric_history_downsampled(
        self,
        run_id: str,
        key: str,
        max_points: int = 1000,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        """At most ``max_points`` points of a history: each step bucket's minimum and maximum (for charts)."""
        return self._read().get_metric_history_downsampled(run_id, key, max_points, start_step, end_step)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = (), models: Sequence[ModelInput] = ()) -> None:
        self._service.log_inputs(run_id, list(datasets), list(models))

    def log_input(
        self, run_id: str, dataset: Dataset, context: str | None = None, tags: dict[str, str] | None = None
    ) -> None:
        all_tags = dict(tags or {})
        if context:
            all_tags["mlflow.data.context"] = context
        self.log_inputs(run_id, [DatasetInput(dataset, all_tags)])

    # ------------------------------------------------------------------ logged models (MLflow 3)

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        return self._service.create_logged_model(
            experiment_id, name, model_type=model_type, source_run_id=source_run_id, params=params, tags=tags
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._read().get_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status: str | LoggedModelStatus) -> LoggedModel:
        return self._service.finalize_logged_model(model_id, status)

    def delete_logged_model(self, model_id: str) -> None:
        self._service.delete_logged_model(model_id)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        self._service.set_logged_model_tags(model_id, tags)

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        self._service.log_logged_model_params(model_id, params)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 50,
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        return self._read().search_logged_models(experiment_ids, filter_string, order_by, max_results, page_token)

    def log_outputs(self, run_id: str, models: Sequence[ModelOutput]) -> None:
        self._service.log_outputs(run_id, models)

    # ------------------------------------------------------------------ artifacts

    def artifact_store(self, run_id: str) -> ArtifactStore:
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            uri = self._artifact_uris[run_id] = self._service.get_run(run_id).info.artifact_uri
        return artifact_store_for_uri(uri, tracking_uri=self.tracking_uri)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        self.artifact_store(run_id).log_file(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        self.artifact_store(run_id).log_dir(local_dir, artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        self._wait_for_artifacts()  # reads see this client's own background writes (the run's context files)
        return self.artifact_store(run_id).list(path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        self._wait_for_artifacts()
        return self.artifact_store(run_id).download(path, dst_path or tempfile.mkdtemp(prefix="dockyard-"))

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        if not isinstance(text, str):
            raise InvalidParameter(f"text must be a string, got {type(text).__name__}")
        self.artifact_store(run_id).write_bytes(artifact_file, text.encode("utf-8"))

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Save a JSON-serialisable object as JSON, or as YAML when the file ends in .yaml/.yml."""
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dictionary, sort_keys=False)
        else:
            try:
                text = json.dumps(dictionary, indent=2)
            except TypeError as exc:
                raise InvalidParameter(f"log_dict: dictionary is not JSON-serialisable: {exc}") from None
        self.log_text(run_id, text, artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib figure (or anything with ``savefig``) in the format the file name gives."""
        if not hasattr(figure, "savefig"):
            raise InvalidParameter(f"log_figure: expected a matplotlib Figure, got {type(figure).__name__}")
        import io

        fmt = os.path.splitext(artifact_file)[1].lstrip(".") or "png"
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt)
        self.artifact_store(run_id).write_bytes(artifact_file, buffer.getvalue())

    def log_artifact_bytes(self, run_id: str, artifact_file: str, data: bytes) -> None:
        self.artifact_store(run_id).write_bytes(artifact_file, data)


def iterate_pages(first: Page[Any], fetch: Any) -> Iterable[Any]:
    """Yield the items of ``first`` and of every following page ``fetch(token)`` returns."""
    page = first
    yield from page.items
    while page.next_page_token:
        page = fetch(page.next_page_token)
        yield from page.items
