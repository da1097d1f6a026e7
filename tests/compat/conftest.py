"""The differential suite's servers: a real ``mlflow server`` and a real ``dockyard server --no-auth``,
each on a free loopback port with a fresh store, started once for the session.

The full ``mlflow`` package (with its server) is not a Dockyard dependency: it lives in a separate
virtualenv whose interpreter ``DOCKYARD_TEST_MLFLOW_PYTHON`` names (default: ``benchmarks/.venv-mlflow``,
which ``benchmarks/bench.py`` makes). Make one with::

    python -m venv /tmp/mlflow-venv && /tmp/mlflow-venv/bin/pip install mlflow==3.17.2
    DOCKYARD_TEST_MLFLOW_PYTHON=/tmp/mlflow-venv/bin/python pytest tests/compat

Without such an interpreter the suite fails (an error per test, naming what is missing), so CI cannot
pass it silently; ``DOCKYARD_TEST_SKIP_MLFLOW_SERVER=1`` skips it instead, on purpose.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.dockyard_process import Server, dockyard_server, free_port

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MLFLOW_PYTHON = REPO / "benchmarks" / ".venv-mlflow" / "bin" / "python"
# Read at import: the autouse fixture of tests/conftest.py clears DOCKYARD_* variables in each test.
MLFLOW_PYTHON = os.environ.get("DOCKYARD_TEST_MLFLOW_PYTHON", "")
SKIP = os.environ.get("DOCKYARD_TEST_SKIP_MLFLOW_SERVER", "") == "1"
STARTUP_TIMEOUT = 300.0  # MLflow's server creates its tables first: slow on a busy 2-core machine
_failed: list[str] = []  # why the server did not start: each later test fails at once with the reason


@dataclass(frozen=True)
class MlflowServer:
    url: str
    root: Path
    version: str


def mlflow_python() -> Path:
    """The interpreter with the full ``mlflow`` package; pytest.fail (or skip, when told) otherwise."""
    python = Path(MLFLOW_PYTHON) if MLFLOW_PYTHON else DEFAULT_MLFLOW_PYTHON
    problem = None
    if not python.exists():
        problem = f"no interpreter at {python}"
    else:
        probe = subprocess.run(
            [str(python), "-c", "import mlflow.server, mlflow; print(mlflow.__version__)"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if probe.returncode != 0:
            problem = f"{python} cannot import mlflow.server: {probe.stderr.strip()[-300:]}"
    if problem is not None:
        message = (
            f"the MLflow differential suite needs the full mlflow package: {problem}. Set "
            "DOCKYARD_TEST_MLFLOW_PYTHON to a Python with `pip install mlflow` (see tests/compat/conftest.py), "
            "or DOCKYARD_TEST_SKIP_MLFLOW_SERVER=1 to skip the suite on purpose"
        )
        if SKIP:
            pytest.skip(message)
        pytest.fail(message)
    return python


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """``mlflow server`` with a SQLite store and proxied artifacts (``mlflow-artifacts:``), as Dockyard's."""
    import httpx2

    if SKIP:
        pytest.skip("DOCKYARD_TEST_SKIP_MLFLOW_SERVER=1")
    if _failed:
        pytest.fail(_failed[0])
    python = mlflow_python()
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DOCKYARD_"))}
    # No background job runner (GenAI jobs, unused here): a quicker start and fewer processes.
    env.update(
        {"MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONUNBUFFERED": "1", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    )
    args = [
        str(python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'store.db'}", "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    log = root / "server.log"
    with log.open("wb") as out:
        # Its own process group: the server starts uvicorn and job runners as children, ended together.
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                _failed.append(f"mlflow server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                pytest.fail(_failed[0])
            try:
                if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                _failed.append(f"mlflow server did not answer in {STARTUP_TIMEOUT}s:\n{log.read_text()[-3000:]}")
                pytest.fail(_failed[0])
            time.sleep(0.2)
        version = httpx2.get(f"{url}/version", timeout=5).text.strip()
        yield MlflowServer(url, root, version)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def dockyard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``dockyard server --no-auth`` with a SQLite store and proxied artifacts."""
    with dockyard_server(tmp_path_factory.mktemp("dockyard-server")) as running:
        yield running
