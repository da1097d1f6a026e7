"""Adaptive batching: requests that arrive together share one ``predict`` call.

One worker task takes what is waiting, up to ``max_batch_size`` rows, and runs it on the model in a
dedicated thread. While that predict runs, new requests queue up and form the next batch, so under load
batches grow by themselves and a lone request waits for nobody (with ``max_batch_delay_ms`` > 0 the
worker also waits that long for company). Requests are merged only with requests of the same shape
(same columns, same trailing tensor shape) and the same params; the predictions are split back by row
counts. If a merged call fails, or returns something that cannot be split by rows, each request of it
is run on its own, so an error always belongs to the request that caused it.

An error the input caused is a :class:`~dockyard.core.errors.ModelInputError` (400): the signature check,
an input that does not make a table, and a model that says so itself, raising ``ModelInputError`` or
MLflow's ``MlflowException`` with ``INVALID_PARAMETER_VALUE`` or ``BAD_REQUEST`` (as models written for
MLflow do). Any other exception of the model is :class:`~dockyard.core.errors.PredictionFailed` (500):
the request was valid, and the model failed on it.

Small requests to a fast model skip the thread: when the model is a library's own (``INLINE_FLAVORS``:
no author's code that could block or run an event loop), a request has at most ``INLINE_MAX_ROWS`` rows,
no other request is being answered (not even one that arrived in the same turn of the event loop), and
the model's recent small predicts took at most ``inline_ms`` (a moving average, measured on every small
predict), the predict runs on the event loop itself. The hop to the predict thread, and the wake-up of a
thread whose core had gone idle, cost more than such a predict (about 0.25 ms of a 1 ms 1-row
scikit-learn request) when the server is otherwise idle. Under load every request takes the thread and
the batches, so the loop is never held for long and ``--timeout`` applies.

    >>> import numpy as np
    >>> split(np.array([1, 2, 3]), [1, 2])
    [array([1]), array([2, 3])]
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from dockyard.core.errors import DockyardError, ModelInputError, PredictionFailed
from dockyard.serving.model import ModelHolder, ServedModel
from dockyard.serving.payloads import Inputs, table


@dataclass
class Outcome:
    """What one request got: its predictions (or the error) and the model version that answered."""

    predictions: Any = None
    error: BaseException | None = None
    model: ServedModel | None = None


Observer = Callable[[int, int, float], None]  # (requests, rows, seconds) of each predict call


def merge_key(item: Inputs) -> tuple[Any, ...] | None:
    """Items with equal keys can be merged along their first axis; None: never merged."""
    if item.rows is None:
        return None
    if item.columns is not None:
        return ("frame", item.columns, item.params_key)
    data = item.data
    module = type(data).__module__
    if module.startswith("pandas") and hasattr(data, "columns"):
        return ("frame", tuple(str(c) for c in data.columns), item.params_key)
    if module == "numpy" and getattr(data, "ndim", 0) >= 1:
        return ("array", data.shape[1:], data.dtype.kind, item.params_key)
    if isinstance(data, dict) and data and all(getattr(v, "ndim", 0) >= 1 for v in data.values()):
        lengths = {len(v) for v in data.values()}
        if len(lengths) == 1:
            return ("tensors", tuple((k, v.shape[1:], v.dtype.kind) for k, v in data.items()), item.params_key)
    return None


def merge(items: list[Inputs]) -> Any:
    """One model input holding every item's rows, in order."""
    if len(items) == 1:
        return items[0].frame()
    first = items[0]
    if all(i.records is not None and i.data is None for i in items):
        return table([row for i in items for row in (i.records or ())], first.columns or ())
    datas = [i.frame() for i in items]
    if hasattr(datas[0], "columns"):
        import pandas as pd

        return pd.concat(datas, ignore_index=True)
    import numpy as np

    if isinstance(datas[0], dict):
        return {k: np.concatenate([d[k] for d in datas]) for k in datas[0]}
    return np.concatenate(datas)


def _length(value: Any) -> int | None:
    if isinstance(value, dict):
        lengths = {_length(v) for v in value.values()}
        return lengths.pop() if len(lengths) == 1 else None
    shape = getattr(value, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    return len(value) if isinstance(value, list) else None


def split(predictions: Any, counts: list[int]) -> list[Any]:
    """``predictions`` cut into pieces of ``counts`` rows; ValueError if it does not have that many rows."""
    if _length(predictions) != sum(counts):
        raise ValueError("the predictions do not have one row per input row")
    pieces, start = [], 0
    for count in counts:
        pieces.append(_slice(predictions, start, start + count))
        start += count
    return pieces


def _slice(value: Any, start: int, stop: int) -> Any:
    if isinstance(value, dict):
        return {k: _slice(v, start, stop) for k, v in value.items()}
    if hasattr(value, "iloc"):
        return value.iloc[start:stop]
    return value[start:stop]


def predict_group(holder: ModelHolder, items: list[Inputs]) -> list[Outcome]:
    """Run mergeable items as one call (each alone if that fails); runs in the predict thread."""
    served = holder.current  # read once: every item of this call is answered by the same version
    if len(items) > 1:
        try:
            merged = merge(items)
            predictions = served.predictor.predict(merged, items[0].params)
            pieces = split(predictions, [i.rows or 0 for i in items])
            return [Outcome(p, model=served) for p in pieces]
        except Exception:  # noqa: S110 - retried one by one below, so each request gets its own error
            pass
    outcomes = []
    for item in items:
        try:
            data = item.frame()
        except Exception as exc:  # JSON rows that pandas cannot make a table of
            outcomes.append(Outcome(error=ModelInputError(f"the input does not make a table: {exc}"), model=served))
            continue
        try:
            outcomes.append(Outcome(served.predictor.predict(data, item.params), model=served))
        except DockyardError as exc:
            outcomes.append(Outcome(error=exc, model=served))
        except Exception as exc:
            outcomes.append(Outcome(error=model_error(exc), model=served))
    return outcomes


# MLflow's error codes that mean "the input is wrong", as a model written for MLflow raises them.
_INPUT_ERROR_CODES = frozenset({"INVALID_PARAMETER_VALUE", "BAD_REQUEST"})


def model_error(exc: Exception) -> DockyardError:
    """What an exception raised inside the model answers: ModelInputError (400) when the model says the
    input is wrong, else PredictionFailed (500); the model's exception is its ``__cause__``.

    >>> class MlflowException(Exception):
    ...     error_code = "INVALID_PARAMETER_VALUE"
    >>> type(model_error(MlflowException("x must be positive"))).__name__, type(model_error(KeyError("x"))).__name__
    ('ModelInputError', 'PredictionFailed')
    """
    error: DockyardError
    if getattr(exc, "error_code", None) in _INPUT_ERROR_CODES:
        error = ModelInputError(f"the model refused the input: {getattr(exc, 'message', None) or exc}")
    else:
        error = PredictionFailed(f"the model raised {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def limit_threads(count: int) -> None:
    """Cap the native thread pools (OpenMP, BLAS) the model uses from the predict thread; 0 leaves them.

    A server already runs one predict per worker while the event loop parses the next requests: letting
    the model spread each small call over every core makes the threads fight over the CPUs (on 2 cores a
    1-row HistGradientBoosting predict took twice as long with OpenMP's default of 2 threads).
    """
    if count <= 0:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # no scikit-learn, hence no threadpoolctl: nothing of ours to limit
        return
    threadpool_limits(limits=count)


INLINE_MAX_ROWS = 16  # rows a request may have to be predicted on the event loop
# Flavors whose predict is the library's own compute. A python_function model runs its author's code,
# which may block on I/O or start an event loop of its own (asyncio.run fails inside a running loop).
INLINE_FLAVORS = frozenset({"sklearn", "xgboost", "lightgbm", "onnx"})
_SMOOTHING = 0.2  # weight of the newest small predict in the moving average


class Batcher:
    """Collects requests and runs them in batches on one predict thread (small, fast ones inline)."""

    def __init__(
        self,
        holder: ModelHolder,
        *,
        max_batch_size: int,
        max_batch_delay: float,
        observe: Observer | None = None,
        model_threads: int = 0,
        inline_ms: float = 0.0,
    ) -> None:
        self.holder = holder
        self.max_batch_size = max(1, max_batch_size)
        self.max_batch_delay = max(0.0, max_batch_delay)
        self.observe = observe
        self.model_threads = model_threads
        self.inline_ms = max(0.0, inline_ms)
        self.small_ms: float | None = None  # moving average of small predicts' time; None: none measured yet
        self.inline_count = 0  # requests predicted on the event loop (tests and /metrics read it)
        self._running = 0  # predicts submitted to the thread and not yet back
        self._arrived = 0  # submit() calls not yet answered, this one included
        self._loop_limited = False
        holder.on_swap(lambda _old, _new: setattr(self, "small_ms", None))  # a new model is measured anew
        self._pending: deque[tuple[Inputs, asyncio.Future[Outcome]]] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="dockyard-predict", initializer=limit_threads, initargs=(model_threads,)
        )

    @property
    def enabled(self) -> bool:
        return self.max_batch_size > 1

    def _inline(self, item: Inputs) -> bool:
        """Whether ``item`` is predicted on the event loop (see the module's docstring)."""
        return (
            self.small_ms is not None
            and self.small_ms <= self.inline_ms
            and self._arrived == 1
            and self._running == 0
            and not self._pending
            and (item.rows or 1) <= INLINE_MAX_ROWS
            and getattr(self.holder.current.predictor, "flavor", None) in INLINE_FLAVORS
        )

    async def submit(self, item: Inputs) -> Outcome:
        self._arrived += 1
        try:
            if self._inline(item):
                # Requests that came in with this one are parsed in this same turn of the loop: yield once so
                # they reach submit too. Then only a request that is really alone predicts inline; under load
                # they all go to the thread and batch (inline one by one would serialise them: about a third
                # of the throughput at 16 connections).
                await asyncio.sleep(0)
                if self._arrived == 1 and self._inline(item):
                    if not self._loop_limited:  # the native thread caps are per thread: the loop's too
                        limit_threads(self.model_threads)
                        self._loop_limited = True
                    self.inline_count += 1
                    return self._run([item])
            return await self._submit(item)
        finally:
            self._arrived -= 1

    async def _submit(self, item: Inputs) -> Outcome:
        loop = asyncio.get_running_loop()
        if not self.enabled or merge_key(item) is None:
            self._running += 1
            try:
                return await loop.run_in_executor(self._executor, self._run, [item])
            finally:
                self._running -= 1
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._work())
        future: asyncio.Future[Outcome] = loop.create_future()
        self._pending.append((item, future))
        assert self._wake is not None  # noqa: S101  for mypy: _wake is set before the worker task is created
        self._wake.set()
        return await future

    def _run(self, items: list[Inputs]) -> Outcome:
        return self._predict(items)[0]

    def _predict(self, items: list[Inputs]) -> list[Outcome]:
        started = time.perf_counter()
        outcomes = predict_group(self.holder, items)
        elapsed = time.perf_counter() - started
        rows = sum(i.rows or 1 for i in items)
        if self.observe is not None:
            self.observe(len(items), rows, elapsed)
        if rows <= INLINE_MAX_ROWS:
            ms = elapsed * 1000
            self.small_ms = ms if self.small_ms is None else (1 - _SMOOTHING) * self.small_ms + _SMOOTHING * ms
        return outcomes

    def _take(self) -> list[tuple[Inputs, asyncio.Future[Outcome]]]:
        """The next batch: the first live request, and those after it that fit and merge with it."""
        while self._pending and self._pending[0][1].done():  # timed out while waiting
            self._pending.popleft()
        if not self._pending:
            return []
        first = self._pending.popleft()
        key, rows = merge_key(first[0]), first[0].rows or 0
        batch = [first]
        kept: deque[tuple[Inputs, asyncio.Future[Outcome]]] = deque()
        while self._pending:
            entry = self._pending.popleft()
            if entry[1].done():
                continue
            size = entry[0].rows or 0
            if merge_key(entry[0]) == key and rows + size <= self.max_batch_size:
                batch.append(entry)
                rows += size
            else:
                kept.append(entry)
        self._pending.extendleft(reversed(kept))
        return batch

    def _rows_waiting(self) -> int:
        return sum(item.rows or 0 for item, _ in self._pending)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None  # noqa: S101  for mypy: _wake is set before the worker task is created
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.max_batch_delay > 0 and self._pending:
                deadline = loop.time() + self.max_batch_delay
                while self._rows_waiting() < self.max_batch_size and loop.time() < deadline:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), deadline - loop.time())
                    except TimeoutError:
                        break
            batch = self._take()
            if not batch:
                continue
            self._running += 1
            try:
                outcomes = await loop.run_in_executor(self._executor, self._predict, [item for item, _ in batch])
            except Exception as exc:  # the executor itself failed (shutting down): tell every waiter
                outcomes = [Outcome(error=exc)] * len(batch)
            finally:
                self._running -= 1
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
            if self._pending:
                self._wake.set()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
