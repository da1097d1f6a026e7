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
def dockyard_process(
    args: list[str], root: Path, log: Path, ready: str, *, env: dict[str, str] | None = None, timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``dockyard ARGS`` in ``root`` until the block ends, once the URL ``ready`` answers 200; its
    output goes to ``log``, shown if it fails to start."""
    import httpx2

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_"))}
    environment.update(env or {})
    environment["PYTHONUNBUFFERED"] = "1"
    name = f"dockyard {args[0]}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard", *args], stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=root
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx2.get(ready, timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer {ready} in {timeout}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


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
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", backend or str(root / "server.db"),
        "--artifacts-destination", destination or str(root / "artifacts"),
        *(() if "--auth" in extra else ("--no-auth",)), *extra,
    ]  # fmt: skip
    with dockyard_process(args, root, root / "server.log", f"{url}/health", env=env, timeout=STARTUP_TIMEOUT) as proc:
        yield Server(url, root, proc.pid)
