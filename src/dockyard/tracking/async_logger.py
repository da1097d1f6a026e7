"""Non-blocking logging that loses nothing it acknowledged.

``log()`` appends to an in-memory buffer and returns; a background thread writes the buffer through a
sink (``TrackingService.log_batch`` or the remote client's) in chunks that respect the batch limits.

Guarantees, in the terms docs/tracking.md uses:

* **Bounded delay.** A logged value reaches the store within ``interval`` seconds (default 1 s), at
  ``flush()``, at ``end_run`` and at interpreter exit. A process killed with SIGKILL loses at most the
  values logged in the last ``interval``; everything flushed before the kill is committed.
* **Back-pressure, never loss.** When ``max_pending`` values are waiting, ``log()`` blocks until the
  writer catches up.
* **Errors surface.** If a write fails, the error is raised (as :class:`~dockyard.core.errors.LoggingFailed`,
  with the store's error as ``__cause__``) by the next ``log()`` or ``flush()``; it is never swallowed.
* **Order.** Values of one run are written in the order they were logged.

>>> written = []
>>> logger = AsyncLogger(lambda run_id, m, p, t: written.append((run_id, len(m), len(p), len(t))))
>>> logger.log("r1", params=[Param("lr", "0.1")])
>>> logger.flush()
>>> written
[('r1', 0, 1, 0)]
>>> logger.close()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from dockyard.core.errors import InvalidParameter, LoggingFailed
from dockyard.tracking.entities import Metric, Param, RunTag

Sink = Callable[[str, list[Metric], list[Param], list[RunTag]], None]

# Per-call limits of log_batch (MLflow's), so the sink never sees an oversized batch.
CHUNK_METRICS = 1000
CHUNK_PARAMS = 100
CHUNK_TAGS = 100
CHUNK_TOTAL = 1000

_METRIC, _PARAM, _TAG = 0, 1, 2


def write_chunked(
    sink: Sink, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> None:
    """Send one run's values through ``sink`` in chunks within MLflow's log_batch limits.

    Params and tags go first (they are few), then metrics in chunks of :data:`CHUNK_METRICS`.
    """
    params, tags, metrics = list(params), list(tags), list(metrics)
    while params or tags:
        p, params = params[:CHUNK_PARAMS], params[CHUNK_PARAMS:]
        t, tags = tags[:CHUNK_TAGS], tags[CHUNK_TAGS:]
        room = CHUNK_TOTAL - len(p) - len(t)
        m, metrics = metrics[:room], metrics[room:]
        sink(run_id, m, p, t)
    for i in range(0, len(metrics), CHUNK_METRICS):
        sink(run_id, metrics[i : i + CHUNK_METRICS], [], [])


class AsyncLogger:
    def __init__(self, sink: Sink, *, interval: float = 1.0, max_pending: int = 100_000) -> None:
        self._sink = sink
        self._interval = interval
        self._max_pending = max_pending
        self._cond = threading.Condition(threading.Lock())
        self._buffer: list[tuple[str, int, Metric | Param | RunTag]] = []
        self._oldest = 0.0  # monotonic time of the oldest buffered value
        self._flush_wanted = False
        self._closed = False
        self._error: BaseException | None = None
        self._write_lock = threading.Lock()  # one writer at a time keeps each run's values in order
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ producers

    def log(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Queue values for ``run_id``; returns at once unless the buffer is full (then it waits)."""
        items: list[tuple[str, int, Metric | Param | RunTag]] = [(run_id, _METRIC, m) for m in metrics]
        items += [(run_id, _PARAM, p) for p in params]
        items += [(run_id, _TAG, t) for t in tags]
        with self._cond:
            self._raise_pending_error()
            if self._closed:
                raise LoggingFailed("the logger is closed")
            while len(self._buffer) >= self._max_pending:
                self._flush_wanted = True
                self._cond.notify_all()
                self._cond.wait()
                self._raise_pending_error()
            if not self._buffer:
                self._oldest = time.monotonic()
            self._buffer.extend(items)
            if self._thread is None:
                self._start()

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """The hot path of ``log_metric``: one append under a lock."""
        with self._cond:
            if (
                self._error is not None
                or self._closed
                or len(self._buffer) >= self._max_pending
                or self._thread is None
            ):
                pass
            else:
                if not self._buffer:
                    self._oldest = time.monotonic()
                self._buffer.append((run_id, _METRIC, metric))
                return
        self.log(run_id, metrics=[metric])

    def flush(self) -> None:
        """Write everything logged so far, in the calling thread; raise any error from a write."""
        self._drain()
        with self._cond:
            self._raise_pending_error()

    def close(self) -> None:
        """Flush and stop the background thread (at exit, or when the client is closed)."""
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=5)

    @property
    def pending(self) -> int:
        return len(self._buffer)

    # ------------------------------------------------------------------ writer

    def _raise_pending_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise LoggingFailed(f"a background logging write failed: {error}") from error

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dockyard-logger", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._buffer:
                        wait = self._oldest + self._interval - time.monotonic()
                        if self._flush_wanted or wait <= 0 or len(self._buffer) >= CHUNK_METRICS * 10:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._closed and not self._buffer:
                    return
            self._drain()

    def _drain(self) -> None:
        with self._write_lock:
            with self._cond:
                items, self._buffer = self._buffer, []
                self._flush_wanted = False
                self._cond.notify_all()  # wake producers waiting for room
            if not items:
                return
            try:
                self._write(items)
            except BaseException as exc:  # surfaced at the next call, never swallowed
                with self._cond:
                    if self._error is None:
                        self._error = exc
                    self._cond.notify_all()

    def _write(self, items: list[tuple[str, int, Metric | Param | RunTag]]) -> None:
        first_error: BaseException | None = None
        for run_id, (metrics, params, tags) in _by_run(items).items():
            try:
                write_values(self._sink, run_id, metrics, params, tags)
            except InvalidParameter as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    def take(self, run_id: str) -> tuple[list[Metric], list[Param], list[RunTag]]:
        """Remove and return the values queued for ``run_id`` (after any write in progress ends), so
        the caller can write them itself, in the same transaction as ending the run."""
        with self._write_lock, self._cond:
            mine = [item for item in self._buffer if item[0] == run_id]
            if mine:
                self._buffer = [item for item in self._buffer if item[0] != run_id]
                self._cond.notify_all()
        return _by_run(mine).get(run_id, ([], [], []))

    def raise_pending_error(self) -> None:
        """Raise (once) the error of a background write that failed since the last call."""
        with self._cond:
            self._raise_pending_error()


def fits_one_call(metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]) -> bool:
    return (
        len(params) <= CHUNK_PARAMS
        and len(tags) <= CHUNK_TAGS
        and len(metrics) + len(params) + len(tags) <= CHUNK_TOTAL
    )


def write_values(sink: Sink, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
    """Write one run's values losing as little as possible; raise the first rejection at the end.

    Everything goes in one call when it fits: one transaction. If that is rejected nothing was written,
    so the values go again kind by kind: a rejected param cannot take metrics down with it, and a
    rejected chunk of params is retried one by one so only the bad one is lost.
    """
    first_error: InvalidParameter | None = None
    if fits_one_call(metrics, params, tags):
        try:
            sink(run_id, metrics, params, tags)
            return
        except InvalidParameter as exc:
            if not params:
                raise
            first_error = exc
    for i in range(0, len(params), CHUNK_PARAMS):
        chunk = params[i : i + CHUNK_PARAMS]
        try:
            sink(run_id, [], chunk, [])
        except InvalidParameter:
            for param in chunk:
                try:
                    sink(run_id, [], [param], [])
                except InvalidParameter as single:
                    first_error = first_error or single
    write_chunked(sink, run_id, metrics, [], tags)
    if first_error is not None:
        raise first_error


def _by_run(
    items: list[tuple[str, int, Metric | Param | RunTag]],
) -> dict[str, tuple[list[Metric], list[Param], list[RunTag]]]:
    by_run: dict[str, tuple[list[Metric], list[Param], list[RunTag]]] = {}
    for run_id, kind, value in items:
        lists = by_run.get(run_id)
        if lists is None:
            lists = by_run[run_id] = ([], [], [])
        lists[kind].append(value)  # type: ignore[arg-type]
    return by_run
