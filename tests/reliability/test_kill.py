"""SIGKILL of ``dockyard server`` under write load: 8 clients log metrics, params, tags and artifacts; the
server (and its workers) is killed mid-load and started again. Every write a client saw acknowledged is
there, nothing half-written is visible (a log-batch is whole or absent, an artifact file is complete or
absent), no point is stored twice, and the clients carry on after the restart."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import dockyard
from reliability.scratch import ServerProcess, needs_postgres, scratch_database, wait_for
from reliability.workload import CLIENTS, Ledger, start_clients, verify


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> str:
    return str(tmp_path / "server.db")


@pytest.fixture
def postgres_backend() -> Iterator[str]:
    with scratch_database("dockyard_rel_kill") as uri:
        yield uri


def kill_under_load(root: Path, backend: str, workers: int) -> None:
    server = ServerProcess(root, backend, workers=workers)
    server.start()
    try:
        setup = dockyard.Client(server.url)
        experiment = setup.create_experiment("kill")
        runs = [setup.create_run(experiment).info.run_id for _ in range(CLIENTS)]
        setup.close()
        ledger, stop = Ledger(), threading.Event()
        threads = start_clients(server.url, runs, ledger, stop)
        try:
            wait_for(lambda: ledger.count() >= 60, 120, "60 acknowledged batches before the kill")
            server.kill()
            at_kill = {run_id: ledger.acknowledged(run_id) for run_id in runs}
            server.start()
            # The clients carry on by themselves: each has batches acknowledged after the restart.
            wait_for(
                lambda: all(ledger.acknowledged(r) >= at_kill[r] + 3 for r in runs),
                180,
                "every client to carry on after the restart",
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        verify(server.url, root / "artifacts", experiment, runs, ledger)
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]


@pytest.mark.slow
def test_sigkill_of_a_sqlite_server_loses_no_acknowledged_write(tmp_path: Path, sqlite_backend: str) -> None:
    kill_under_load(tmp_path, sqlite_backend, workers=1)


@needs_postgres
@pytest.mark.slow
@pytest.mark.postgres
def test_sigkill_of_a_two_worker_postgres_server_loses_no_acknowledged_write(
    tmp_path: Path, postgres_backend: str
) -> None:
    kill_under_load(tmp_path, postgres_backend, workers=2)
