"""A real ``dockyard serve`` process on a free port, for the tests where sockets matter."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.dockyard_process import free_port

STARTUP_TIMEOUT = 90.0


@contextmanager
def scoring_server(
    model_uri: str, root: Path, *, extra: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run ``dockyard serve MODEL_URI`` until the block ends and yield its base URL; its output goes to
    ``root/serve.log``, shown if it fails to start."""
    import httpx2

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_"))}
    environment.update(env or {})
    environment["PYTHONUNBUFFERED"] = "1"
    root.mkdir(parents=True, exist_ok=True)
    log = root / "serve.log"
    command = [sys.executable, "-m", "dockyard", "serve", model_uri, "--port", str(port), *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=root)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dockyard serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx2.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockyard serve did not answer /ping in {STARTUP_TIMEOUT}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
