"""PostgreSQL stopped and restarted under write load (a cluster of the tests' own, never the shared one):
while it is down the server answers 503 at once (never a hang, never a 500 with a driver message), it
recovers by itself when the database is back, and no acknowledged write is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

import dockyard
from reliability.scratch import ServerProcess, pg_cluster, second_cluster, wait_for
from reliability.workload import CLIENTS, Ledger, start_clients, verify

PROBE_TIMEOUT = 20.0  # seconds: an answer slower than this is a hang


@pytest.fixture(scope="module")
def restart_database() -> Iterator[str]:
    with second_cluster() as uri:
        yield uri


def probe(url: str, run_id: str) -> list[int]:
    """One read and one write against the server: their status codes (a transport timeout fails)."""
    with httpx2.Client(base_url=f"{url}/api/2.0/mlflow", timeout=PROBE_TIMEOUT) as http:
        read = http.get("/runs/get", params={"run_id": run_id})
        body = {"run_id": run_id, "params": [{"key": "probe", "value": "1"}]}
        write = http.post("/runs/log-batch", json=body)
    for response in (read, write):
        if response.status_code >= 500:
            assert response.status_code == 503, response.text
            envelope = response.json()
            assert envelope["error_code"] == "TEMPORARILY_UNAVAILABLE"
            assert "Traceback" not in envelope["message"] and "psycopg" not in envelope["message"]
    return [read.status_code, write.status_code]


@pytest.mark.slow
@pytest.mark.postgres
def test_a_database_restart_is_answered_503_and_recovered_from(tmp_path: Path, restart_database: str) -> None:
    server = ServerProcess(tmp_path, restart_database, workers=2)
    server.start()
    try:
        setup = dockyard.Client(server.url)
        experiment = setup.create_experiment("restart")
        runs = [setup.create_run(experiment).info.run_id for _ in range(CLIENTS)]
        probed = setup.create_run(experiment).info.run_id  # the probes write here, not into the clients' runs
        setup.close()
        ledger, stop = Ledger(), threading.Event()
        threads = start_clients(server.url, runs, ledger, stop)
        try:
            wait_for(lambda: ledger.count() >= 80, 120, "80 acknowledged batches before the stop")
            pg_cluster("stop")
            try:
                down = [probe(server.url, probed) for _ in range(3)]
                assert all(codes == [503, 503] for codes in down), down
            finally:
                pg_cluster("start")
            at_start = {run_id: ledger.acknowledged(run_id) for run_id in runs}
            deadline = time.monotonic() + 60
            while probe(server.url, probed) != [200, 200]:  # recovers by itself: no restart of the server
                assert time.monotonic() < deadline, "the server did not recover within 60 s of the database"
                time.sleep(0.2)
            wait_for(
                lambda: all(ledger.acknowledged(r) >= at_start[r] + 3 for r in runs),
                120,
                "every client to carry on after the database came back",
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        verify(server.url, tmp_path / "artifacts", experiment, runs, ledger)
    finally:
        server.stop()
    log = server.log()
    assert " 500 " not in log, log[-3000:]
