"""A 1 GB artifact through the proxy of a real server process, with the server's memory bounded.

MLflow needed 30 GB of server memory for a 1 GB upload (mlflow/mlflow#22665); Dockyard streams both
ways in 1 MB chunks. The peak resident memory of the server process (VmHWM) is read from /proc.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.dockyard_process import Server, dockyard_server

SIZE = 1024**3
CHUNK = 1024 * 1024
MEMORY_LIMIT_KB = 200 * 1024


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with dockyard_server(tmp_path) as running:
        yield running


def _payload(digest: hashlib._Hash) -> Iterator[bytes]:  # type: ignore[name-defined]
    block = bytes(range(256)) * (CHUNK // 256)
    for i in range(SIZE // CHUNK):
        chunk = i.to_bytes(8, "little") + block[8:]  # every chunk differs
        digest.update(chunk)
        yield chunk


@pytest.mark.slow
def test_one_gigabyte_up_and_down_with_bounded_server_memory(server: Server) -> None:
    import httpx2

    url, pid, destination = server.url, server.pid, server.artifacts
    artifact = f"{url}/api/2.0/mlflow-artifacts/artifacts/0/run1/artifacts/big.bin"
    sent = hashlib.sha256()
    with httpx2.Client(timeout=600) as http:
        response = http.put(artifact, content=_payload(sent))
        assert response.status_code == 200, response.text
        assert (destination / "0" / "run1" / "artifacts" / "big.bin").stat().st_size == SIZE
        received = hashlib.sha256()
        size = 0
        with http.stream("GET", artifact) as download:
            assert download.status_code == 200
            for chunk in download.iter_bytes(CHUNK):
                received.update(chunk)
                size += len(chunk)
    assert size == SIZE
    assert received.hexdigest() == sent.hexdigest()
    peak = _peak_rss_kb(pid)
    assert peak < MEMORY_LIMIT_KB, f"server peak memory {peak / 1024:.0f} MB"
