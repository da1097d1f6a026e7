"""A real ``dockyard serve`` process on a free port, for the tests where sockets matter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.dockyard_process import dockyard_process, free_port

STARTUP_TIMEOUT = 90.0


@contextmanager
def scoring_server(
    model_uri: str, root: Path, *, extra: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run ``dockyard serve MODEL_URI`` until the block ends and yield its base URL; its output goes to
    ``root/serve.log``, shown if it fails to start."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    root.mkdir(parents=True, exist_ok=True)
    args = ["serve", model_uri, "--port", str(port), *extra]
    with dockyard_process(args, root, root / "serve.log", f"{url}/ping", env=env, timeout=STARTUP_TIMEOUT):
        yield url
