from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dockyard.core.errors import LoggingFailed, ParamValueChanged
from dockyard.tracking.async_logger import AsyncLogger, write_chunked
from dockyard.tracking.entities import Metric, Param, RunTag


class Recorder:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, list[Metric], list[Param], list[RunTag]]] = []
        self.delay = delay
        self.fail_with: BaseException | None = None
        self.lock = threading.Lock()

    def __call__(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        with self.lock:
            self.calls.append((run_id, list(metrics), list(params), list(tags)))

    def metrics(self, run_id: str | None = None) -> list[Metric]:
        return [m for r, ms, _, _ in self.calls if run_id in (None, r) for m in ms]


def test_write_chunked_respects_batch_limits() -> None:
    rec = Recorder()
    metrics = [Metric("m", float(i), 1, i) for i in range(2500)]
    params = [Param(f"p{i}", "v") for i in range(150)]
    tags = [RunTag(f"t{i}", "v") for i in range(30)]
    write_chunked(rec, "r", metrics, params, tags)
    for _, m, p, t in rec.calls:
        assert len(m) <= 1000 and len(p) <= 100 and len(t) <= 100 and len(m) + len(p) + len(t) <= 1000
    assert [m.step for m in rec.metrics()] == list(range(2500))
    assert sum(len(p) for _, _, p, _ in rec.calls) == 150
    assert sum(len(t) for _, _, _, t in rec.calls) == 30


def test_log_returns_before_the_write_and_flush_writes() -> None:
    rec = Recorder()
    logger = AsyncLogger(rec, interval=60)
    for i in range(10):
        logger.log_metric("r", Metric("m", float(i), 1, i))
    logger.log("r", params=[Param("p", "1")], tags=[RunTag("t", "v")])
    assert rec.calls == []  # nothing written yet: the interval is a minute
    logger.flush()
    assert [m.step for m in rec.metrics()] == list(range(10))
    assert rec.calls[0][2] == [Param("p", "1")]
    logger.close()


def test_background_thread_flushes_within_the_interval() -> None:
    rec = Recorder()
    logger = AsyncLogger(rec, interval=0.05)
    logger.log_metric("r", Metric("m", 1.0, 1, 0))
    deadline = time.monotonic() + 5
    while not rec.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rec.metrics() == [Metric("m", 1.0, 1, 0)]
    logger.close()


def test_values_are_grouped_per_run_in_order() -> None:
    rec = Recorder()
    logger = AsyncLogger(rec, interval=60)
    for i in range(6):
        logger.log_metric("a" if i % 2 else "b", Metric("m", float(i), 1, i))
    logger.flush()
    assert [m.step for m in rec.metrics("a")] == [1, 3, 5]
    assert [m.step for m in rec.metrics("b")] == [0, 2, 4]
    logger.close()


def test_full_buffer_blocks_instead_of_dropping() -> None:
    rec = Recorder(delay=0.02)
    logger = AsyncLogger(rec, interval=0.01, max_pending=10)
    for i in range(200):
        logger.log_metric("r", Metric("m", float(i), 1, i))
        assert logger.pending <= 10
    logger.flush()
    assert [m.step for m in rec.metrics()] == list(range(200))
    logger.close()


def test_write_error_is_raised_at_the_next_call_never_swallowed() -> None:
    rec = Recorder()
    rec.fail_with = ParamValueChanged("param 'p' is already '1'")
    logger = AsyncLogger(rec, interval=60)
    logger.log("r", params=[Param("p", "2")])
    with pytest.raises(LoggingFailed, match="already") as info:
        logger.flush()
    assert isinstance(info.value.__cause__, ParamValueChanged)
    rec.fail_with = None
    logger.log("r", params=[Param("q", "1")])  # the error was reported once; logging goes on
    logger.flush()
    assert rec.calls[-1][2] == [Param("q", "1")]
    logger.close()


def test_error_from_background_write_surfaces_at_next_log() -> None:
    rec = Recorder()
    rec.fail_with = RuntimeError("disk full")
    logger = AsyncLogger(rec, interval=0.01)
    logger.log_metric("r", Metric("m", 1.0, 1, 0))
    deadline = time.monotonic() + 5
    raised: Any = None
    while time.monotonic() < deadline:
        try:
            logger.log_metric("r", Metric("m", 2.0, 1, 1))
        except LoggingFailed as exc:
            raised = exc
            break
        time.sleep(0.01)
    assert raised is not None and "disk full" in str(raised)
    rec.fail_with = None
    logger.close()


def test_concurrent_producers_lose_nothing() -> None:
    rec = Recorder()
    logger = AsyncLogger(rec, interval=0.01, max_pending=50)

    def produce(run_id: str) -> None:
        for i in range(500):
            logger.log_metric(run_id, Metric("m", float(i), 1, i))

    threads = [threading.Thread(target=produce, args=(f"r{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    logger.flush()
    for n in range(4):
        assert [m.step for m in rec.metrics(f"r{n}")] == list(range(500))
    logger.close()


def test_closed_logger_refuses_values() -> None:
    logger = AsyncLogger(Recorder(), interval=60)
    logger.close()
    with pytest.raises(LoggingFailed, match="closed"):
        logger.log("r", params=[Param("p", "1")])
