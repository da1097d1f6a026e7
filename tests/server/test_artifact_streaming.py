"""A 1 GB artifact through the proxy of a real server process, with the server's memory bounded.

MLflow needed 30 GB of server memory for a 1 GB upload (mlflow/mlflow#22665); Dockyard streams both
ways in 1 MB chunks. The peak resident memory of the server process (VmHWM) is read from /proc.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SIZE = 1024**3
CHUNK = 1024 * 1024
MEMORY_LIMIT_KB = 200 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    port = _free_port()
    destination = tmp_path / "artifacts"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dockyard",
            "server",
            "--port",
            str(port),
            "--backend-store-uri",
            str(tmp_path / "s.db"),
            "--artifacts-destination",
            str(destination),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx2

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{url}/health").status_code == 200:
                break
        except httpx2.TransportError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
    try:
        yield url, proc.pid, destination
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


def _payload(digest: hashlib._Hash) -> Iterator[bytes]:  # type: ignore[name-defined]
    block = bytes(range(256)) * (CHUNK // 256)
    for i in range(SIZE // CHUNK):
        chunk = i.to_bytes(8, "little") + block[8:]  # every chunk differs
        digest.update(chunk)
        yield chunk


@pytest.mark.slow
def test_one_gigabyte_up_and_down_with_bounded_server_memory(server: tuple[str, int, Path]) -> None:
    import httpx2

    url, pid, destination = server
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
