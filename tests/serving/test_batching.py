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
