"""The prediction log in process: Parquet against JSON Lines, buffering, rotation, backups, the CLI option."""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

import dockyard.models
from dockyard.serving import ServingOptions, create_scoring_app
from dockyard.serving.predlog import Entry, PredictionLog

pq = pytest.importorskip("pyarrow.parquet")

MODEL = {"model_name": "churn", "model_version": "3", "model_id": "m-" + "0" * 32}


def entry(i: int, size: int = 10) -> Entry:
    body = json.dumps({"inputs": {"x": [float(i)], "pad": "p" * size}}).encode()
    return Entry("invocations", 200, 1.5, 1, MODEL, body, "application/json", b'{"predictions":[%d]}' % i, time.time())


def wait_for(predicate: Any) -> None:
    for _ in range(200):  # the log is written by a background thread
        if predicate():
            return
        threading.Event().wait(0.05)
    raise AssertionError("the prediction log never got there")


def parquet_rows(directory: Path) -> list[dict[str, Any]]:
    return [row for f in sorted(directory.glob("*.parquet")) for row in pq.read_table(f).to_pylist()]


def serve_three_requests(model: Path, directory: Path, fmt: str) -> None:
    options = ServingOptions(prediction_log=str(directory), prediction_log_format=fmt)
    with TestClient(create_scoring_app(dockyard.models.load_model(model, allow_pickle=True), options)) as client:
        assert client.post("/invocations", json={"inputs": {"x": [4.0], "k": [1]}}).status_code == 200
        csv = client.post("/invocations", content=b"x,k\n5.0,0\n", headers={"content-type": "text/csv"})
        assert csv.status_code == 200
        assert client.post("/invocations", json={"inputs": {"x": [1.0]}}).status_code == 400


def test_parquet_records_hold_what_the_json_lines_hold(scaler_model: Path, tmp_path: Path) -> None:
    serve_three_requests(scaler_model, tmp_path / "jsonl", "jsonl")
    serve_three_requests(scaler_model, tmp_path / "parquet", "parquet")
    lines = [json.loads(line) for f in (tmp_path / "jsonl").glob("*.jsonl") for line in f.read_text().splitlines()]
    # Closing the app closed the Parquet file: no partial file is left, and the complete one is readable.
    assert not list((tmp_path / "parquet").glob("*.partial"))
    rows = parquet_rows(tmp_path / "parquet")
    assert len(rows) == len(lines) == 3
    schema = pq.read_schema(next((tmp_path / "parquet").glob("*.parquet")))
    assert str(schema.field("time").type) == "timestamp[us, tz=UTC]"
    assert set(rows[0]) == set(lines[0]) | {"dropped"}
    for line, row in zip(lines, rows, strict=True):
        assert json.loads(row["inputs"]) == line["inputs"]
        assert json.loads(row["outputs"]) == line["outputs"]
        for field in ("endpoint", "status", "rows", "model_name", "model_version", "model_id"):
            assert row[field] == line[field], field
        assert row["latency_ms"] > 0 and row["dropped"] == 0
        assert row["time"].utcoffset().total_seconds() == 0
    assert [row["status"] for row in rows] == [200, 200, 400]
    assert json.loads(rows[1]["inputs"]) == "x,k\n5.0,0\n"
    assert json.loads(rows[1]["outputs"]) == {"predictions": [10.0]}
    assert "missing input column 'k'" in json.loads(rows[2]["outputs"])["message"]


def test_parquet_is_buffered_until_the_file_is_closed(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, format="parquet")
    for i in range(50):
        log.write(entry(i))
    wait_for(lambda: log._queue.empty())
    assert list(tmp_path.glob("*.parquet")) == []  # nothing complete until size, age or shutdown
    log.close()
    files = list(tmp_path.glob("*.parquet"))
    assert len(files) == 1 and files[0].name.startswith(f"predictions-{os.getpid()}-")
    assert [json.loads(row["outputs"])["predictions"] for row in parquet_rows(tmp_path)] == [[i] for i in range(50)]


def test_parquet_rotates_on_size_and_keeps_every_record_in_order(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, format="parquet", max_bytes=8_000, backups=100)
    for i in range(300):
        log.write(entry(i, size=200))
    log.close()
    files = sorted(tmp_path.glob("*.parquet"))
    assert len(files) > 3
    assert all(pq.read_metadata(f).num_rows > 0 for f in files)
    rows = parquet_rows(tmp_path)
    assert [json.loads(row["inputs"])["inputs"]["x"] for row in rows] == [[float(i)] for i in range(300)]


def test_parquet_keeps_only_the_newest_backups(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, format="parquet", max_bytes=8_000, backups=2)
    for i in range(300):
        log.write(entry(i, size=200))
    log.close()
    files = sorted(tmp_path.glob("*.parquet"))
    assert len(files) == 2
    xs = [json.loads(row["inputs"])["inputs"]["x"][0] for row in parquet_rows(tmp_path)]
    assert xs[-1] == 299.0 and xs == sorted(xs) and xs[0] > 0  # the oldest files were removed


def test_parquet_file_is_closed_once_it_is_old_enough(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, format="parquet", max_age=0.0)
    try:
        log.write(entry(7))
        wait_for(lambda: list(tmp_path.glob("*.parquet")))  # readable without shutting down
        assert [json.loads(row["outputs"]) for row in parquet_rows(tmp_path)] == [{"predictions": [7]}]
    finally:
        log.close()


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'csv' is not one of jsonl, parquet"):
        PredictionLog(tmp_path, format="csv")


def test_serve_passes_the_format_to_the_app(
    scaler_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from dockyard.cli import main

    served: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **k: served.append(self.config.app))
    args = ["serve", str(scaler_model), "--allow-pickle", "--prediction-log", str(tmp_path / "log")]
    args += ["--prediction-log-format"]
    result = CliRunner().invoke(main, [*args, "parquet"])
    assert result.exit_code == 0, result.output
    scorer = served[0].state.scorer
    try:
        assert scorer.log.format == "parquet" and scorer.log.path.name.endswith(".parquet.partial")
    finally:
        scorer.close()
        gc.unfreeze()  # build_app froze everything alive for the server's sake; not for the test process
    refused = CliRunner().invoke(main, [*args, "csv"])
    assert refused.exit_code == 2 and "'csv' is not one of 'jsonl', 'parquet'" in refused.output
