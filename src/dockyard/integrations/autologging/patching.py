"""Patching ``fit``-like functions, undoing the patches, and the run a patched call logs into.

One thread-local guard is shared by every integration: while an autologged call runs, the calls it
makes (a Pipeline fitting its steps, GridSearchCV fitting clones, XGBoost's scikit-learn API calling
``xgboost.train``) run unpatched, so one user call logs once.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dockyard.core.clock import now_ms
from dockyard.lifecycle import fluent
from dockyard.tracking.entities import Metric, Param, RunStatus

MAX_PARAM_LENGTH = 6_000  # MLflow's limit on a param value; longer reprs are cut
INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class AutologConfig:
    log_models: bool = True
    log_input_examples: bool = True
    log_datasets: bool = True
    silent: bool = False


class AutologWarning(UserWarning):
    """Something autologging could not record (a metric that does not apply, a param that changed)."""


_guard = threading.local()
_patches: dict[str, list[tuple[Any, str, Any]]] = {}
_configs: dict[str, AutologConfig] = {}


def config(integration: str) -> AutologConfig | None:
    """The integration's settings while it is enabled, else None."""
    return _configs.get(integration)


def warn(integration: str, message: str) -> None:
    cfg = _configs.get(integration)
    if cfg is None or not cfg.silent:
        warnings.warn(f"dockyard.autolog ({integration}): {message}", AutologWarning, stacklevel=3)


def enable(integration: str, cfg: AutologConfig, targets: list[tuple[Any, str]], make: Callable[[Any], Any]) -> None:
    """Replace each ``owner.attr`` in ``targets`` with ``make(original)``; enabling again re-patches."""
    disable(integration)
    done: list[tuple[Any, str, Any]] = []
    for owner, attr in targets:
        original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
        patched = make(original)
        setattr(owner, attr, patched)
        done.append((owner, attr, original))
    _patches[integration] = done
    _configs[integration] = cfg


def disable(integration: str) -> None:
    """Put every original back (in reverse order) and forget the integration's settings."""
    for owner, attr, original in reversed(_patches.pop(integration, [])):
        setattr(owner, attr, original)
    _configs.pop(integration, None)


def patched_names(integration: str) -> list[str]:
    """``module.Class.attr`` of every function patched now (for tests and debugging)."""
    return [
        f"{getattr(o, '__module__', '')}.{getattr(o, '__name__', o)}.{a}" for o, a, _ in _patches.get(integration, [])
    ]


def active() -> bool:
    return bool(getattr(_guard, "active", False))


@contextmanager
def guarded() -> Iterator[None]:
    """Mark this thread as inside an autologged call for the block."""
    _guard.active = True
    try:
        yield
    finally:
        _guard.active = False


@contextmanager
def training_run() -> Iterator[str]:
    """The active run's id, or a new run that is ended when the block exits (FAILED if it raises)."""
    current = fluent.active_run()
    if current is not None:
        yield current.info.run_id
        return
    run = fluent.start_run()
    try:
        yield run.info.run_id
    except KeyboardInterrupt:
        fluent.end_run(RunStatus.KILLED)
        raise
    except BaseException:
        fluent.end_run(RunStatus.FAILED)
        raise
    fluent.end_run()


def wrap_method(
    integration: str, original: Any, after: Callable[..., None], before: Callable[..., Any] | None = None
) -> Any:
    """A ``fit`` that, when enabled and not nested, runs ``original`` in a training run, then ``after``.

    ``before(self, args, kwargs)`` may return new ``(args, kwargs)`` (to add an evaluation recorder);
    ``after(run_id, cfg, self, args, kwargs, result, extra)`` logs what the fit produced.
    """

    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        cfg = config(integration)
        if cfg is None or active():
            return original(self, *args, **kwargs)
        with guarded(), training_run() as run_id:
            extra = None
            if before is not None:
                args, kwargs, extra = before(self, args, kwargs)
            result = original(self, *args, **kwargs)
            after(run_id, cfg, self, args, kwargs, result, extra)
            return result

    return fit


def wrap_function(
    integration: str, original: Any, after: Callable[..., None], before: Callable[..., Any] | None = None
) -> Any:
    """:func:`wrap_method` for a module-level function such as ``xgboost.train``."""

    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        cfg = config(integration)
        if cfg is None or active():
            return original(*args, **kwargs)
        with guarded(), training_run() as run_id:
            extra = None
            if before is not None:
                args, kwargs, extra = before(None, args, kwargs)
            result = original(*args, **kwargs)
            after(run_id, cfg, None, args, kwargs, result, extra)
            return result

    return call


# -- logging helpers shared by the integrations ----------------------------------------------------


def log_params(integration: str, run_id: str, params: dict[str, Any]) -> None:
    """Log ``params`` (values as text, cut to MLflow's limit); keys the run already holds with another
    value are skipped with a warning, since params are immutable."""
    client = fluent.current_client()
    existing = client.get_run(run_id).data.params
    fresh: list[Param] = []
    changed: list[str] = []
    for key, value in params.items():
        text = str(value)[:MAX_PARAM_LENGTH]
        if key not in existing:
            fresh.append(Param(key, text))
        elif existing[key] != text:
            changed.append(key)
    if changed:
        warn(integration, f"run {run_id} already has other values for params {sorted(changed)}; kept those")
    if fresh:
        client.log_batch(run_id, params=fresh)


def log_metrics(run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    if metrics:
        ts = now_ms()
        fluent.current_client().log_batch(run_id, metrics=[Metric(k, float(v), ts, step) for k, v in metrics.items()])


def log_metric_histories(run_id: str, histories: dict[str, list[float]]) -> None:
    """Per-iteration metrics (``validation_0-logloss`` at steps 0, 1, ...), in one batch."""
    ts = now_ms()
    points = [Metric(key, float(v), ts, step) for key, values in histories.items() for step, v in enumerate(values)]
    if points:
        fluent.current_client().log_batch(run_id, metrics=points)


def head(data: Any, rows: int = INPUT_EXAMPLE_ROWS) -> Any:
    """The first rows of a DataFrame, array or list (None for what cannot be sliced)."""
    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[:rows]
    try:
        return data[:rows]
    except Exception:  # a sparse matrix or a DMatrix: no input example
        return None


def log_training_dataset(run_id: str, x: Any, y: Any) -> None:
    """Log the training data as a run input (context ``train``) with its digest: the features and,
    for a DataFrame, the target as a column named after it (or ``target``)."""
    from dockyard.tracking.datasets import to_dataset

    module = type(x).__module__.split(".", 1)[0]
    if module == "pandas" and hasattr(x, "columns"):
        frame = x
        targets = None
        if y is not None and len(y) == len(x):
            targets = str(getattr(y, "name", None) or "target")
            if targets not in x.columns:
                frame = x.assign(**{targets: list(y) if not hasattr(y, "to_numpy") else y.to_numpy()})
            else:
                targets = None
        dataset = to_dataset(frame, name="dataset", targets=targets)
    elif module == "numpy":
        dataset = to_dataset(x, name="dataset")
    else:
        return
    fluent.current_client().log_input(run_id, dataset, context="train")
