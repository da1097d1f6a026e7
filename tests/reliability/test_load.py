"""64 concurrent clients, mixed reads and writes with searches, for a bounded time against `dockyard
server --workers 2` on PostgreSQL: zero 5xx and no hang. The latency figures are printed and recorded in
benchmarks/RESULTS.md by benchmarks/load_bench.py, not asserted (the machine's load varies)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reliability.scratch import ServerProcess, needs_postgres, scratch_database

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "load_bench.py"
CLIENTS = 64
SECONDS = 6


@pytest.fixture
def postgres_backend() -> Iterator[str]:
    with scratch_database("dockyard_rel_load") as uri:
        yield uri


@needs_postgres
@pytest.mark.slow
@pytest.mark.postgres
def test_64_clients_get_no_server_error_from_two_workers_on_postgres(tmp_path: Path, postgres_backend: str) -> None:
    server = ServerProcess(tmp_path, postgres_backend, workers=2)
    server.start()
    try:
        done = subprocess.run(
            [sys.executable, str(BENCH), "--url", server.url, "--clients", str(CLIENTS), "--seconds", str(SECONDS),
             "--json"],
            capture_output=True, text=True, timeout=SECONDS + 120,
        )  # fmt: skip
    finally:
        server.stop()
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout)
    print(f"load: {result['requests']} requests, {result['rate']} req/s, p99 {result['p99_ms']} ms")
    assert result["server_errors"] == 0, result["errors"]
    assert result["transport_errors"] == 0, result["errors"]
    assert set(result["by_call"]) == {
        "log-batch", "log-metric", "runs/get", "runs/search", "metrics/get-history", "experiments/search"
    }  # fmt: skip
    assert result["statuses"] == {"200": result["requests"]}, result["errors"]
    assert " 500 " not in server.log()
