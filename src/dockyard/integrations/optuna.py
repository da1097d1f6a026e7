"""``dockyard.integrations.optuna``: Optuna searches where every trial is a tracked run.

    import optuna
    import dockyard
    import dockyard.integrations.optuna

    def objective(trial):
        depth = trial.suggest_int("max_depth", 2, 8)
        ...
        dockyard.log_metric("train_loss", loss)      # goes to the trial's run
        return auc

    study = optuna.create_study(direction="maximize")
    with dockyard.start_run(run_name="search"):
        dockyard.integrations.optuna.optimize(study, objective, n_trials=50, metric_name="auc")

:func:`optimize` runs ``study.optimize`` with the objective wrapped so that each trial is a run nested
under the parent (tag ``mlflow.parentRunId``) holding the trial's params, its value as a metric
(``metric_name``) and tags ``optuna.study_name``, ``optuna.trial_number``, ``optuna.trial_state``;
inside the objective the trial's run is the active run. At the end the parent records the best trial
(:func:`log_best_trial`). With ``training_data=X_train``, a model a trial logs stores the training profile
of ``X_train`` (see ``docs/delivery.md``), as autologging does with the data of each ``fit``.
:class:`DockyardCallback` does the same as a plain Optuna callback, logging each trial after it finished.

**Several processes or hosts** share a study through Optuna's RDB storage (PostgreSQL): the parent's
run id is stored in the study (user attribute ``dockyard.parent_run_id``, see :func:`set_parent_run`),
so every worker that calls ``optimize(study, ...)`` nests its trials under the same parent. Pass
``log_best=False`` in the workers and call :func:`log_best_trial` once when they are done.
Needs ``pip install 'dockyard[optuna]'``. See ``docs/tuning.md``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dockyard.core.clock import now_ms
from dockyard.core.errors import InvalidParameter, MissingExtra
from dockyard.lifecycle import fluent
from dockyard.tracking.entities import Metric, Param, RunStatus, RunTag

PARENT_ATTR = "dockyard.parent_run_id"
RUN_ATTR = "dockyard.run_id"
BEST_RUN_TAG = "optuna.best_trial_run_id"
BEST_NUMBER_TAG = "optuna.best_trial_number"

__all__ = ["DockyardCallback", "log_best_trial", "optimize", "recorded_parent_run", "set_parent_run"]


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise MissingExtra("optuna", "optuna") from None
    return optuna


def set_parent_run(study: Any, run_id: str) -> None:
    """Record ``run_id`` in the study as the parent of its trials (shared with every worker)."""
    study.set_user_attr(PARENT_ATTR, run_id)


def recorded_parent_run(study: Any) -> str | None:
    """The parent run recorded in the study, if any."""
    value = study.user_attrs.get(PARENT_ATTR)
    return str(value) if value else None


def _metric_values(metric_name: str | Sequence[str], values: Sequence[float] | None) -> dict[str, float]:
    if values is None:
        return {}
    if isinstance(metric_name, str):
        names = [metric_name] if len(values) == 1 else [f"{metric_name}_{i}" for i in range(len(values))]
    else:
        names = list(metric_name)
        if len(names) != len(values):
            raise InvalidParameter(f"metric_name has {len(names)} names for {len(values)} objective values")
    return dict(zip(names, (float(v) for v in values), strict=True))


def _trial_tags(study: Any, trial: Any, parent: str) -> dict[str, str]:
    return {
        fluent.PARENT_RUN_TAG: parent,
        "optuna.study_name": study.study_name,
        "optuna.trial_number": str(trial.number),
    }


def _resolve_parent(study: Any, given: str | None) -> tuple[str, bool]:
    """(parent run id, whether this call started it and must end it)."""
    if given is not None:
        return given, False
    recorded = recorded_parent_run(study)
    if recorded is not None:
        return recorded, False
    current = fluent.active_run()
    if current is not None:
        return current.info.run_id, False
    return fluent.start_run(run_name=study.study_name).info.run_id, True


def optimize(
    study: Any,
    objective: Callable[[Any], Any],
    n_trials: int | None = None,
    timeout: float | None = None,
    *,
    n_jobs: int = 1,
    catch: Iterable[type[Exception]] | type[Exception] = (),
    callbacks: Iterable[Callable[[Any, Any], None]] | None = None,
    metric_name: str | Sequence[str] = "value",
    parent_run_id: str | None = None,
    log_best: bool = True,
    show_progress_bar: bool | None = None,
    training_data: Any = None,
) -> None:
    """``study.optimize`` with every trial a nested run; see the module docstring.

    The parent is ``parent_run_id``, else the one recorded in the study, else the active run, else a
    new run named after the study (ended when this returns). A study without a recorded parent gets
    this one. ``show_progress_bar`` (default: when stderr is a terminal) draws a rich progress bar with
    the best value so far. ``training_data`` (the search's training inputs, without the target): a model a
    trial logs with ``log_model`` without its own ``training_data`` stores their training profile, for
    ``dockyard validate`` and ``dockyard monitor`` (autologging passes the data of each ``fit`` itself).
    """
    from dockyard.lifecycle.model_logging import default_training_data

    optuna = _optuna()
    client = fluent.current_client()
    parent, owned = _resolve_parent(study, parent_run_id)
    try:
        if recorded_parent_run(study) is None:
            set_parent_run(study, parent)
        experiment_id = client.get_run(parent).info.experiment_id

        def tracked(trial: Any) -> Any:
            run = fluent.start_run(
                experiment_id=experiment_id,
                run_name=f"trial-{trial.number}",
                nested=True,
                tags=_trial_tags(study, trial, parent),
            )
            trial.set_user_attr(RUN_ATTR, run.info.run_id)
            state, status = "FAIL", RunStatus.FAILED
            try:
                with default_training_data(training_data):
                    value = objective(trial)
                values = [value] if not isinstance(value, Sequence) else list(value)
                fluent.log_metrics(_metric_values(metric_name, values))
                state, status = "COMPLETE", RunStatus.FINISHED
                return value
            except optuna.TrialPruned:
                state, status = "PRUNED", RunStatus.FINISHED
                raise
            except KeyboardInterrupt:
                status = RunStatus.KILLED
                raise
            finally:
                try:
                    if trial.params:
                        fluent.log_params(dict(trial.params))
                    fluent.set_tag("optuna.trial_state", state)
                finally:
                    _end_trial_run(run.info.run_id, status)

        all_callbacks = list(callbacks or [])
        show = sys.stderr.isatty() if show_progress_bar is None else show_progress_bar
        if show:
            with _ProgressBar(study, n_trials) as bar:
                study.optimize(tracked, n_trials, timeout, n_jobs, catch, [*all_callbacks, bar.update])
        else:
            study.optimize(tracked, n_trials, timeout, n_jobs, catch, all_callbacks)
        if log_best:
            log_best_trial(study, parent, metric_name=metric_name)
    except BaseException:
        if owned:
            fluent.end_run(RunStatus.FAILED)
        raise
    if owned:
        fluent.end_run()


def _end_trial_run(run_id: str, status: RunStatus) -> None:
    """End the trial's run, which is on top of this thread's stack."""
    current = fluent.active_run()
    if current is not None and current.info.run_id == run_id:
        fluent.end_run(status)


def log_best_trial(study: Any, run_id: str, *, metric_name: str | Sequence[str] = "value") -> Any:
    """Record the study's best trial in run ``run_id``; returns that trial (None when none completed).

    Params ``best_<name>``, metric ``best_<metric_name>`` (at step = number of finished trials), tags
    ``optuna.best_trial_number`` and ``optuna.best_trial_run_id``. A multi-objective study records the
    numbers of its Pareto-optimal trials in the tag ``optuna.best_trial_numbers`` instead. Params are
    immutable: calling this again on the same run after the best trial changed raises
    :class:`~dockyard.core.errors.ParamValueChanged`; use a new parent run for a new search.
    """
    optuna = _optuna()
    client = fluent.current_client()
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    tags = [RunTag("optuna.study_name", study.study_name), RunTag("optuna.n_trials", str(len(study.trials)))]
    if len(study.directions) > 1:
        numbers = [t.number for t in study.best_trials]
        client.log_batch(run_id, tags=[*tags, RunTag("optuna.best_trial_numbers", json.dumps(numbers))])
        return None
    if not finished:
        client.log_batch(run_id, tags=tags)
        return None
    best = study.best_trial
    ts = now_ms()
    metrics = [Metric(f"best_{k}", v, ts, len(finished)) for k, v in _metric_values(metric_name, best.values).items()]
    tags.append(RunTag(BEST_NUMBER_TAG, str(best.number)))
    if best.user_attrs.get(RUN_ATTR):
        tags.append(RunTag(BEST_RUN_TAG, str(best.user_attrs[RUN_ATTR])))
    params = [Param(f"best_{k}", v) for k, v in best.params.items()]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    return best


class DockyardCallback:
    """An Optuna callback that logs each finished trial as a run nested under ``parent_run_id``
    (or the run active when it is created): params, value(s) as ``metric_name``, state, and the
    trial's start and end times. For objectives that log nothing themselves::

        study.optimize(objective, n_trials=20, callbacks=[DockyardCallback(metric_name="auc")])
    """

    def __init__(self, metric_name: str | Sequence[str] = "value", parent_run_id: str | None = None) -> None:
        current = fluent.active_run()
        if parent_run_id is None and current is None:
            raise InvalidParameter("DockyardCallback: start a parent run first, or pass parent_run_id")
        self.metric_name = metric_name
        self.parent_run_id = parent_run_id or current.info.run_id  # type: ignore[union-attr]
        self._client = fluent.current_client()
        self._experiment_id = self._client.get_run(self.parent_run_id).info.experiment_id

    def __call__(self, study: Any, trial: Any) -> None:
        start = int(trial.datetime_start.timestamp() * 1000) if trial.datetime_start else now_ms()
        end = int(trial.datetime_complete.timestamp() * 1000) if trial.datetime_complete else now_ms()
        tags = {**_trial_tags(study, trial, self.parent_run_id), "optuna.trial_state": trial.state.name}
        run = self._client.create_run(self._experiment_id, start, tags, run_name=f"trial-{trial.number}")
        metrics = _metric_values(self.metric_name, trial.values)
        self._client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, end, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in trial.params.items()],
        )
        status = RunStatus.FINISHED if trial.state.name in ("COMPLETE", "PRUNED") else RunStatus.FAILED
        self._client.set_terminated(run.info.run_id, status, end)


class _ProgressBar:
    """A rich progress bar over the trials of this call, showing the best value so far."""

    def __init__(self, study: Any, n_trials: int | None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._study = study
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[best]}"),
            console=Console(stderr=True),
        )
        self._task = self._progress.add_task(f"Study {study.study_name}", total=n_trials, best="")

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, study: Any, trial: Any) -> None:
        best = ""
        if len(study.directions) == 1:
            try:
                best = f"best {study.best_value:.6g} (trial {study.best_trial.number})"
            except ValueError:  # no completed trial yet
                best = ""
        self._progress.update(self._task, advance=1, best=best)
