"""Adaptive batching in process: which requests share a predict call, and that each gets its own rows."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.core.errors import ModelInputError, PredictionFailed
from dockyard.serving.batching import Batcher, merge, merge_key, split
from dockyard.serving.model import ModelHolder, ServedModel
from dockyard.serving.payloads import Inputs


class Recorder:
    """A stand-in predictor: ``x * 2``, records the rows of each call, fails on negative x."""

    model_id = run_id = signature = input_example = None
    flavor = "test"

    def __init__(self, output: str = "array") -> None:
        self.calls: list[int] = []
        self.output = output

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame({"x": np.asarray(data)[:, 0]})
        if "x" not in frame:
            raise ModelInputError("missing input column 'x' (expected double)")
        self.calls.append(len(frame))
        if (frame["x"] < 0).any():
            raise ValueError("negative")
        if self.output == "scalar":
            return float(frame["x"].sum())
        if self.output == "frame":
            return pd.DataFrame({"y": frame["x"].to_numpy() * 2})
        return frame["x"].to_numpy() * 2 + (params or {}).get("add", 0)


def rows(*xs: float, params: dict[str, Any] | None = None, columns: tuple[str, ...] = ("x",)) -> Inputs:
    return Inputs(None, params, rows=len(xs), columns=columns, records=[[x] for x in xs])


def run(batcher: Batcher, items: list[Inputs]) -> list[Any]:
    async def go() -> list[Any]:
        try:
            return list(await asyncio.gather(*(batcher.submit(i) for i in items)))
        finally:
            batcher.close()

    return asyncio.run(go())


def batcher_for(predictor: Recorder, size: int = 64, delay: float = 0.0) -> Batcher:
    return Batcher(ModelHolder(ServedModel(predictor, "test")), max_batch_size=size, max_batch_delay=delay)  # type: ignore[arg-type]


def test_requests_waiting_together_share_one_call() -> None:
    model = Recorder()
    outcomes = run(batcher_for(model), [rows(float(i), float(i) + 0.5) for i in range(10)])
    assert model.calls == [20]
    for i, outcome in enumerate(outcomes):
        assert outcome.error is None
        assert outcome.predictions.tolist() == [i * 2, i * 2 + 1]


def test_batches_stop_at_the_size_limit_and_keep_order() -> None:
    model = Recorder()
    outcomes = run(batcher_for(model, size=4), [rows(float(i)) for i in range(10)])
    assert model.calls == [4, 4, 2]
    assert [o.predictions.tolist() for o in outcomes] == [[i * 2] for i in range(10)]


def test_a_delay_waits_for_company() -> None:
    model = Recorder()

    async def go() -> None:
        batcher = batcher_for(model, delay=5.0, size=3)
        try:
            first = asyncio.ensure_future(batcher.submit(rows(1.0)))
            await asyncio.sleep(0)
            later = [asyncio.ensure_future(batcher.submit(rows(x))) for x in (2.0, 3.0)]
            await asyncio.gather(first, *later)  # the batch is full at 3 rows: no 5 s wait
        finally:
            batcher.close()

    asyncio.run(go())
    assert model.calls == [3]


def test_only_alike_requests_merge() -> None:
    model = Recorder()
    items = [
        rows(1.0),
        rows(2.0, params={"add": 1}),
        rows(3.0),
        rows(4.0, columns=("z",)),
        rows(5.0, params={"add": 1}),
    ]
    outcomes = run(batcher_for(model), items)
    assert sorted(model.calls) == [2, 2]  # (x: 1, 3) and (x: 2, 5 with add=1); z is refused
    assert [o.predictions.tolist() if o.error is None else None for o in outcomes] == [
        [2.0],
        [5.0],
        [6.0],
        None,
        [11.0],
    ]
    assert isinstance(outcomes[3].error, ModelInputError)


def test_a_failing_request_does_not_fail_the_others() -> None:
    model = Recorder()
    outcomes = run(batcher_for(model), [rows(1.0), rows(-1.0), rows(3.0)])
    assert model.calls[0] == 3  # the merged call, then one by one
    assert outcomes[0].predictions.tolist() == [2.0] and outcomes[2].predictions.tolist() == [6.0]
    assert isinstance(outcomes[1].error, PredictionFailed)
    assert "ValueError: negative" in outcomes[1].error.message


def test_predictions_that_cannot_be_split_are_computed_per_request() -> None:
    model = Recorder(output="scalar")
    outcomes = run(batcher_for(model), [rows(1.0, 2.0), rows(5.0)])
    assert [o.predictions for o in outcomes] == [3.0, 5.0]


def test_frames_are_split_by_rows() -> None:
    model = Recorder(output="frame")
    outcomes = run(batcher_for(model), [rows(1.0), rows(2.0, 3.0)])
    assert model.calls == [3]
    assert outcomes[1].predictions["y"].tolist() == [4.0, 6.0]


def test_batching_off_predicts_each_request_alone() -> None:
    model = Recorder()
    run(batcher_for(model, size=1), [rows(1.0), rows(2.0)])
    assert model.calls == [1, 1]


def test_merge_key_merge_and_split() -> None:
    frame = Inputs(pd.DataFrame({"x": [1.0]}), rows=1)
    array = Inputs(np.zeros((2, 3)), rows=2)
    tensors = Inputs({"a": np.zeros((2, 3)), "b": np.zeros(2)}, rows=2)
    assert merge_key(frame) == ("frame", ("x",), "")
    assert merge_key(array) == ("array", (3,), "f", "")
    assert merge_key(tensors) == ("tensors", (("a", (3,), "f"), ("b", (), "f")), "")
    assert merge_key(Inputs("text")) is None
    assert merge([array, Inputs(np.ones((1, 3)), rows=1)]).shape == (3, 3)
    assert merge([tensors, tensors])["a"].shape == (4, 3)
    assert merge([frame, rows(2.0)])["x"].tolist() == [1.0, 2.0]
    assert split({"p": np.arange(3)}, [1, 2])[1]["p"].tolist() == [1, 2]
    assert split([1, 2, 3], [2, 1]) == [[1, 2], [3]]
    with pytest.raises(ValueError, match="one row per input row"):
        split(np.arange(2), [1, 2])


class Timed(Recorder):
    """A Recorder of a library flavor that notes the thread of each call and may take ``seconds``."""

    flavor = "sklearn"

    def __init__(self, seconds: float = 0.0, flavor: str = "sklearn") -> None:
        super().__init__()
        self.seconds = seconds
        self.flavor = flavor
        self.threads: list[str] = []

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import threading
        import time

        self.threads.append(threading.current_thread().name)
        if self.seconds:
            time.sleep(self.seconds)
        return super().predict(data, params)


def inline_batcher(model: Timed, inline_ms: float = 50.0, size: int = 64) -> Batcher:
    holder = ModelHolder(ServedModel(model, "test"))  # type: ignore[arg-type]
    return Batcher(holder, max_batch_size=size, max_batch_delay=0.0, inline_ms=inline_ms)


def one_by_one(batcher: Batcher, items: list[Inputs]) -> list[Any]:
    async def go() -> list[Any]:
        try:
            return [await batcher.submit(i) for i in items]
        finally:
            batcher.close()

    return asyncio.run(go())


def test_small_requests_to_a_fast_library_model_predict_on_the_event_loop() -> None:
    model = Timed()
    batcher = inline_batcher(model)
    outcomes = one_by_one(batcher, [rows(float(i)) for i in range(5)])
    assert [o.predictions.tolist() for o in outcomes] == [[i * 2] for i in range(5)]
    # The first is measured on the predict thread; the rest run where the requests are read.
    assert model.threads[0].startswith("dockyard-predict")
    assert all(not name.startswith("dockyard-predict") for name in model.threads[1:])
    assert batcher.inline_count == 4 and batcher.small_ms is not None


@pytest.mark.parametrize(
    ("model", "inline_ms", "request_rows"),
    [
        (Timed(), 0.0, 1),  # turned off
        (Timed(flavor="python_function"), 50.0, 1),  # an author's code may block or run its own loop
        (Timed(seconds=0.02), 5.0, 1),  # slower than the budget
        (Timed(), 50.0, 17),  # more rows than a small request has
    ],
    ids=["off", "python-function", "slow-model", "many-rows"],
)
def test_other_requests_stay_on_the_predict_thread(model: Timed, inline_ms: float, request_rows: int) -> None:
    batcher = inline_batcher(model, inline_ms)
    outcomes = one_by_one(batcher, [rows(*[1.0] * request_rows) for _ in range(3)])
    assert all(o.error is None for o in outcomes)
    assert all(name.startswith("dockyard-predict") for name in model.threads)
    assert batcher.inline_count == 0


def test_a_request_arriving_while_another_predicts_waits_for_the_thread() -> None:
    model = Timed()
    batcher = inline_batcher(model)

    async def go() -> None:
        try:
            await batcher.submit(rows(1.0))  # measured: the model is fast
            model.seconds = 0.2
            slow = asyncio.ensure_future(batcher.submit(rows(*[1.0] * 20)))  # too many rows: the thread
            await asyncio.sleep(0.05)
            model.seconds = 0.0
            small = await batcher.submit(rows(2.0))  # the thread is busy: this one queues behind it
            assert small.predictions.tolist() == [4.0]
            assert (await slow).error is None
        finally:
            batcher.close()

    asyncio.run(go())
    assert batcher.inline_count == 0
    assert all(name.startswith("dockyard-predict") for name in model.threads)


def test_a_new_model_is_measured_again_before_it_runs_inline() -> None:
    model = Timed()
    holder = ModelHolder(ServedModel(model, "test"))  # type: ignore[arg-type]
    batcher = Batcher(holder, max_batch_size=64, max_batch_delay=0.0, inline_ms=50.0)
    one_by_one(batcher, [rows(1.0)])
    assert batcher.small_ms is not None
    holder.swap(ServedModel(Timed(), "test", version="2"))  # type: ignore[arg-type]
    assert batcher.small_ms is None


def test_requests_arriving_together_batch_on_the_thread_instead_of_running_inline_one_by_one() -> None:
    model = Timed()
    batcher = inline_batcher(model)

    async def go() -> list[Any]:
        try:
            await batcher.submit(rows(0.0))  # measured: fast enough for inline
            await batcher.submit(rows(0.0))  # alone: inline
            return list(await asyncio.gather(*(batcher.submit(rows(float(i))) for i in range(8))))
        finally:
            batcher.close()

    outcomes = asyncio.run(go())
    assert [o.predictions.tolist() for o in outcomes] == [[i * 2] for i in range(8)]
    assert batcher.inline_count == 1
    assert model.calls[-1] == 8  # the eight shared one call on the predict thread
    assert model.threads[-1].startswith("dockyard-predict")
