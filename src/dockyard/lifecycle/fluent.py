"""The fluent API: module-level functions with MLflow's names, over one process-wide :class:`Client`.

Migrating a script from MLflow is changing ``import mlflow`` to ``import dockyard as mlflow``::

    import dockyard

    dockyard.set_experiment("churn")
    with dockyard.start_run(run_name="baseline"):
        dockyard.log_params({"lr": 0.1, "depth": 6})
        for step in range(100):
            dockyard.log_metric("loss", 1 / (step + 1), step=step)

Metric, param and tag calls return at once and are written by a background thread (at most
``DOCKYARD_FLUSH_INTERVAL`` seconds later, and always before ``end_run`` returns); pass
``synchronous=True`` to write before returning. A ``with start_run()`` block that raises ends the run
FAILED; Ctrl-C ends it KILLED.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any

from dockyard.artifacts.base import FileInfo
from dockyard.core.clock import now_ms
from dockyard.core.config import Settings
from dockyard.core.errors import ExperimentNotFound, InvalidParameter, ResourceAlreadyExists
from dockyard.lifecycle.client import Client
from dockyard.tracking.context import capture_run_context
from dockyard.tracking.entities import (
    PARENT_RUN_TAG,
    Dataset,
    Experiment,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from dockyard.tracking.system_metrics import SystemMetricsMonitor, require_psutil

NOTE_TAG = "mlflow.note.content"
SEARCH_PAGE = 10_000


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tracking_uri: str | None = None
        self.client: Client | None = None
        self.experiment_id: str | None = None
        self.local = threading.local()
        self.last_run_id: str | None = None
        self.atexit_registered = False
        self.env_run_used = False  # DOCKYARD_RUN_ID is resumed by the first top-level start_run only
        self.monitors: dict[str, SystemMetricsMonitor] = {}

    @property
    def stack(self) -> list[ActiveRun]:
        stack = getattr(self.local, "stack", None)
        if stack is None:
            stack = self.local.stack = []
        return stack


_state = _State()


class ActiveRun:
    """The run ``start_run`` returns; a context manager that ends the run when the block exits."""

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def info(self) -> RunInfo:
        return self._run.info

    @property
    def data(self) -> RunData:
        return self._run.data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        # Only end the run if it is still on the stack (the block may have ended it already).
        if any(r.info.run_id == self.info.run_id for r in _state.stack):
            while _state.stack and _state.stack[-1].info.run_id != self.info.run_id:
                end_run(status)
            end_run(status)

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.info.run_id!r}, name={self.info.run_name!r}>"


# ---------------------------------------------------------------------- configuration


def _client() -> Client:
    with _state.lock:
        if _state.client is None:
            settings = Settings.from_env()
            if _state.tracking_uri is not None:
                settings = settings.with_tracking_uri(_state.tracking_uri)
            _state.client = Client(settings=settings)
            if not _state.atexit_registered:
                atexit.register(_at_exit)
                _state.atexit_registered = True
        return _state.client


def current_client() -> Client:
    """The client the fluent API logs through (tracking URI from ``set_tracking_uri`` or the settings)."""
    return _client()


def _at_exit() -> None:
    # End runs still open at exit (FINISHED, as MLflow does) and write everything queued.
    try:
        while _state.stack:
            end_run()
    finally:
        if _state.client is not None:
            _state.client.close()


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Point the fluent API at a store: a path, ``sqlite:///...``, ``postgresql://...``."""
    from dockyard.core.config import normalize_tracking_uri

    text = normalize_tracking_uri(os.fspath(uri))
    with _state.lock:
        if _state.client is not None:
            _state.client.flush()
        _state.tracking_uri = text
        _state.client = None
        _state.experiment_id = None


def get_tracking_uri() -> str:
    return _client().tracking_uri


def _synchronous(value: bool | None) -> bool:
    return (not _client().settings.async_logging) if value is None else value


def flush() -> None:
    """Write every queued metric, param and tag now."""
    _client().flush()


# ---------------------------------------------------------------------- experiments


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the active one, creating it (by name) when it does not exist."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameter("set_experiment: give exactly one of experiment_name or experiment_id")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None  # noqa: S101  # narrowing for mypy: exactly one of the two is given
        found = client.get_experiment_by_name(experiment_name)
        if found is None:
            with contextlib.suppress(ResourceAlreadyExists):  # another process created it just now
                client.create_experiment(experiment_name)
            found = client.get_experiment_by_name(experiment_name)
        if found is None:
            raise ExperimentNotFound(f"Experiment {experiment_name!r} was deleted while it was being created")
        experiment = found
    if experiment.lifecycle_stage.value != "active":
        raise InvalidParameter(
            f"Experiment {experiment.name!r} is deleted; restore it (dockyard experiments restore "
            f"{experiment.experiment_id}) or use another name"
        )
    _state.experiment_id = experiment.experiment_id
    return experiment


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: str | ViewType = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    client = _client()
    results: list[Experiment] = []
    token: str | None = None
    while True:
        page = client.search_experiments(view_type, min(max_results or 50_000, 50_000), filter_string, order_by, token)
        results.extend(page.items)
        token = page.next_page_token
        if not token or (max_results is not None and len(results) >= max_results):
            return results[:max_results] if max_results is not None else results


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


# ---------------------------------------------------------------------- runs


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run (or resume ``run_id``) and make it the active run of this thread.

    ``log_system_metrics=True`` samples CPU, memory (and GPU) into the run until it ends; ``None``
    follows ``DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING``. Without ``run_id``, the first top-level run of
    the process resumes the run ``DOCKYARD_RUN_ID`` names, when it is set (``dockyard runs reproduce``
    starts scripts that way).
    """
    client = _client()
    stack = _state.stack
    if stack and not nested:
        raise InvalidParameter(
            f"Run {stack[-1].info.run_id!r} is already active. End it with end_run(), or start a nested "
            "run with start_run(nested=True)"
        )
    system_metrics = client.settings.enable_system_metrics_logging if log_system_metrics is None else log_system_metrics
    if system_metrics:
        require_psutil()  # before the run exists, so a missing extra leaves nothing behind
    given_by_env = False
    if run_id is None and not stack and client.settings.run_id and not _state.env_run_used:
        run_id, given_by_env = client.settings.run_id, True
        _state.env_run_used = True
    if run_id is not None:
        run = _resume_run(client, run_id, run_name, tags, capture=given_by_env and client.settings.capture_context)
    else:
        if experiment_id is None:
            experiment_id = stack[-1].info.experiment_id if stack else (_state.experiment_id or "0")
        parent = stack[-1].info.run_id if stack else None
        run = _create_run(client, str(experiment_id), run_name, tags, description, parent)
    active = ActiveRun(run)
    stack.append(active)
    _state.last_run_id = run.info.run_id
    if system_metrics:
        interval = client.settings.system_metrics_sampling_interval
        _state.monitors[run.info.run_id] = SystemMetricsMonitor(client, run.info.run_id, interval).start()
    return active


def _resume_run(
    client: Client, run_id: str, run_name: str | None, tags: dict[str, Any] | None, *, capture: bool
) -> Run:
    """Mark ``run_id`` running again; ``capture`` records this process's source and packages in it (the
    launcher of ``dockyard runs reproduce`` created the run empty)."""
    if any(r.info.run_id == run_id for r in _state.stack):
        raise InvalidParameter(f"Run {run_id!r} is already active")
    existing = client.get_run(run_id)
    if existing.info.lifecycle_stage.value != "active":
        raise InvalidParameter(f"Cannot resume run {run_id!r}: it is deleted")
    client.update_run(run_id, status=RunStatus.RUNNING, name=run_name)
    resume_tags = dict(tags or {})
    if capture:
        captured = capture_run_context()
        resume_tags = {**captured.tags, **resume_tags}
        for path, content in captured.artifacts.items():
            client.write_artifact_in_background(run_id, path, content)
    if resume_tags:
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in resume_tags.items()])
    return client.get_run(run_id)


def _create_run(
    client: Client,
    experiment_id: str,
    run_name: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
    parent_run_id: str | None,
) -> Run:
    """A new run with the captured context's tags (unless turned off), the parent and note tags, then
    the caller's ``tags``; the context's artifacts are written in the background."""
    all_tags: dict[str, Any] = {}
    context_artifacts: dict[str, bytes] = {}
    if client.settings.capture_context:
        captured = capture_run_context()
        all_tags.update(captured.tags)
        context_artifacts = captured.artifacts
    if parent_run_id:
        all_tags[PARENT_RUN_TAG] = parent_run_id
    if description:
        all_tags[NOTE_TAG] = description
    all_tags.update(tags or {})
    run = client.create_run(experiment_id, tags=all_tags, run_name=run_name, user_id=all_tags.get("mlflow.user"))
    for path, content in context_artifacts.items():
        client.write_artifact_in_background(run.info.run_id, path, content)
    return run


def active_run() -> ActiveRun | None:
    stack = _state.stack
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, or else the last run this process started (re-read from the store)."""
    current = active_run()
    run_id = current.info.run_id if current is not None else _state.last_run_id
    return None if run_id is None else _client().get_run(run_id)


def end_run(status: str | RunStatus = RunStatus.FINISHED) -> None:
    """End the active run after writing everything queued for it. No-op without an active run."""
    stack = _state.stack
    if not stack:
        return
    run = stack[-1]
    client = _client()
    monitor = _state.monitors.pop(run.info.run_id, None)
    try:
        if monitor is not None:
            monitor.stop()  # its last sample is queued before the run is ended
    finally:
        try:
            client.set_terminated(run.info.run_id, status)
        finally:
            stack.pop()


def _run_id() -> str:
    run = active_run()
    if run is not None:
        return run.info.run_id
    return start_run().info.run_id


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    run = active_run()
    if run is None:
        raise InvalidParameter("get_artifact_uri: no active run (call start_run first)")
    base = run.info.artifact_uri
    return base if not artifact_path else f"{base.rstrip('/')}/{artifact_path.lstrip('/')}"


# ---------------------------------------------------------------------- logging


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return _client().log_param(_run_id(), key, value, synchronous=_synchronous(synchronous))


def log_params(params: dict[str, Any], synchronous: bool | None = None) -> None:
    if not isinstance(params, dict):
        raise InvalidParameter(f"log_params takes a dict, got {type(params).__name__}")
    _client().log_batch(
        _run_id(), params=[Param(k, v) for k, v in params.items()], synchronous=_synchronous(synchronous)
    )


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
    model_id: str | None = None,
) -> None:
    """Log one metric value; ``model_id`` also records it against a logged model (MLflow 3)."""
    _client().log_metric(
        _run_id(), key, value, timestamp, step, synchronous=_synchronous(synchronous), model_id=model_id
    )


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
    model_id: str | None = None,
) -> None:
    if not isinstance(metrics, dict):
        raise InvalidParameter(f"log_metrics takes a dict, got {type(metrics).__name__}")
    ts = now_ms() if timestamp is None else timestamp
    st = 0 if step is None else step
    batch = [Metric(k, v, ts, st, model_id=model_id) for k, v in metrics.items()]
    _client().log_batch(_run_id(), metrics=batch, synchronous=_synchronous(synchronous))


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    _client().set_tag(_run_id(), key, value, synchronous=_synchronous(synchronous))


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    if not isinstance(tags, dict):
        raise InvalidParameter(f"set_tags takes a dict, got {type(tags).__name__}")
    _client().log_batch(_run_id(), tags=[RunTag(k, v) for k, v in tags.items()], synchronous=_synchronous(synchronous))


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id(), key)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    _client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    _client().log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    _client().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> None:
    _client().log_dict(_run_id(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    _client().log_figure(_run_id(), figure, artifact_file)


def list_artifacts(path: str | None = None, run_id: str | None = None) -> list[FileInfo]:
    return _client().list_artifacts(run_id or _run_id(), path)


def log_input(
    dataset: Any,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    *,
    name: str | None = None,
    source: str | None = None,
    targets: str | None = None,
) -> Dataset:
    """Record a dataset the run used: a DataFrame, numpy array, parquet/CSV path or :class:`Dataset`.

    Returns the :class:`Dataset` with its digest, schema and profile (row count).
    """
    from dockyard.tracking.datasets import to_dataset

    described = to_dataset(dataset, name=name, source=source, targets=targets)
    _client().log_input(_run_id(), described, context=context, tags=tags)
    return described


# ---------------------------------------------------------------------- search


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    run_view_type: str | ViewType = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output: str | None = None,
    experiment_names: Sequence[str] | None = None,
    output_format: str | None = None,
    search_all_experiments: bool = False,
) -> Any:
    """Search runs with MLflow's filter grammar (plus OR and parentheses).

    Returns a pandas DataFrame with MLflow's columns (``run_id``, ``experiment_id``, ``status``,
    ``artifact_uri``, ``start_time``, ``end_time``, ``metrics.<key>``, ``params.<key>``, ``tags.<key>``)
    when pandas is installed, as MLflow does, else a list of :class:`Run`. ``output_format="list"`` (or
    Dockyard's older ``output="runs"``) always gives the list; ``"pandas"`` always the DataFrame. Without
    ``experiment_ids``, ``experiment_names`` or ``search_all_experiments=True`` it searches the active
    experiment.
    """
    kind = _output_kind(output, output_format)
    client = _client()
    ids = [str(i) for i in experiment_ids or []]
    for name in experiment_names or []:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise InvalidParameter(f"experiment_names: no experiment named {name!r}")
        ids.append(experiment.experiment_id)
    if search_all_experiments and not ids:
        ids = [e.experiment_id for e in search_experiments(view_type=run_view_type)]
        if not ids:
            return _runs_output([], kind)
    if not ids:
        ids = [_state.experiment_id or "0"]
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < max_results:
        page = client.search_runs(
            ids, filter_string, run_view_type, min(SEARCH_PAGE, max_results - len(runs)), order_by, token
        )
        runs.extend(page.items)
        token = page.next_page_token
        if not token:
            break
    return _runs_output(runs, kind)


def _output_kind(output: str | None, output_format: str | None) -> str:
    """``"pandas"`` or ``"list"``: MLflow's ``output_format``, Dockyard's older ``output`` ("runs" = list)."""
    given = {name: value for name, value in (("output", output), ("output_format", output_format)) if value is not None}
    kinds = set()
    for name, value in given.items():
        text = value.lower() if isinstance(value, str) else value
        if text not in ("runs", "list", "pandas"):
            raise InvalidParameter(f"{name} must be 'pandas' or 'list', got {value!r}")
        kinds.add("pandas" if text == "pandas" else "list")
    if len(kinds) > 1:
        raise InvalidParameter(f"output {output!r} and output_format {output_format!r} disagree: give one")
    if kinds:
        return kinds.pop()
    return "pandas" if importlib.util.find_spec("pandas") is not None else "list"


def _runs_output(runs: list[Run], kind: str) -> Any:
    if kind == "pandas":
        from dockyard.tracking.frames import runs_to_dataframe

        return runs_to_dataframe(runs)
    return runs


# ---------------------------------------------------------------------- tables and images


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save a DataFrame or dict as the table ``artifact_file`` (``.json`` or ``.parquet``) of the active
    run (or ``run_id``), after the rows already there, in MLflow's table format."""
    client = _client()
    client.log_table(run_id or _run_id(), data, artifact_file)


def load_table(
    artifact_file: str, run_ids: Sequence[str] | None = None, extra_columns: Sequence[str] | None = None
) -> Any:
    """The table ``artifact_file`` of ``run_ids`` (every active run of the active experiment when None),
    as one DataFrame; ``extra_columns=["run_id"]`` adds each row's run."""
    return _client().load_table(_state.experiment_id or "0", artifact_file, run_ids, extra_columns)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Log a numpy array or PIL image to the active run: as the file ``artifact_file``, or as step
    ``step`` of the image series ``key`` (MLflow's two forms).

    The files are written before it returns, as in MLflow; ``synchronous=False`` writes them from a
    background thread instead (``flush()`` waits for them).
    """
    _client().log_image(_run_id(), image, artifact_file, key, step, timestamp, synchronous=synchronous)
