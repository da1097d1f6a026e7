"""A real ``dockyard server`` process on a free port, for the tests where sockets matter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Server:
    url: str
    root: Path
    pid: int

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dockyard_server(
    root: Path,
    *,
    backend: str | None = None,
    destination: str | None = None,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run ``dockyard server`` (store ``root/server.db`` unless ``backend``, artifacts ``root/artifacts``)
    until the block ends; its output goes to ``root/server.log``, shown if it fails to start."""
    import httpx2

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_"))}
    environment.update(env or {})
    environment["PYTHONUNBUFFERED"] = "1"
    log = root / "server.log"
    command = [
        sys.executable, "-m", "dockyard", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", backend or str(root / "server.db"),
        "--artifacts-destination", destination or str(root / "artifacts"), *extra,
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=root)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dockyard server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockyard server did not answer /health in {STARTUP_TIMEOUT}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(url, root, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
