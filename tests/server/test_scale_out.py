"""Scale-out: a real `dockyard server --workers 2` on PostgreSQL, 32 clients logging at once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import dockyard
from dockyard.tracking.entities import Metric, Param, RunTag

from conftest import POSTGRES_URI, _truncate_postgres
from server.dockyard_process import dockyard_server

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URI, reason="DOCKYARD_TEST_POSTGRES_URI is not set"),
]

CLIENTS = 32
BATCHES = 10
POINTS = 50  # per batch
SINGLES = 20


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    _truncate_postgres(POSTGRES_URI)
    with dockyard_server(tmp_path, backend=POSTGRES_URI, extra=("--workers", "2")) as running:
        yield running.url


def _client_work(url: str, n: int) -> str:
    client = dockyard.Client(url)
    run_id = client.create_run("0", run_name=f"client-{n}").info.run_id
    for b in range(BATCHES):
        client.log_batch(
            run_id,
            metrics=[Metric("batched", float(i), 1, b * POINTS + i) for i in range(POINTS)],
            params=[Param(f"p{b}", str(n))],
            tags=[RunTag("client", str(n))],
        )
    for i in range(SINGLES):
        client.log_metric(run_id, "single", float(i), step=i)
    client.set_terminated(run_id)
    return run_id


def test_two_workers_thirty_two_clients_every_point_stored(server_url: str) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        run_ids = list(pool.map(lambda n: _client_work(server_url, n), range(CLIENTS)))
    client = dockyard.Client(server_url)
    assert len(set(run_ids)) == CLIENTS
    for n, run_id in enumerate(run_ids):
        run = client.get_run(run_id)
        assert run.info.status.value == "FINISHED"
        assert run.data.params == {f"p{b}": str(n) for b in range(BATCHES)}
        assert [m.step for m in client.get_metric_history(run_id, "batched")] == list(range(BATCHES * POINTS))
        assert [m.step for m in client.get_metric_history(run_id, "single")] == list(range(SINGLES))
    assert len(client.search_runs("0", max_results=100).items) == CLIENTS
