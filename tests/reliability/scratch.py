"""Helpers of the reliability tests: scratch PostgreSQL databases, and a write load whose acknowledged
writes are recorded so a test can prove none was lost."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

POSTGRES_URI = os.environ.get("DOCKYARD_TEST_POSTGRES_URI", "")

needs_postgres = pytest.mark.skipif(not POSTGRES_URI, reason="DOCKYARD_TEST_POSTGRES_URI is not set")


@contextmanager
def scratch_database(prefix: str, server_uri: str = "") -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``server_uri`` (default: the test server's), its
    URI yielded and the database dropped afterwards: the shared ``dockyard_test`` is never touched."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(server_uri or POSTGRES_URI)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    # No pool: a connection kept from before a restart of the database would be dead when the drop comes.
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@dataclass
class Acknowledged:
    """Writes a client saw succeed: ``(run_id, step)`` of each ``log-batch`` (params ``p<step>``, metric
    ``m`` at ``step``, tag ``t<step>``), in the order they were acknowledged."""

    batches: list[tuple[str, int]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, run_id: str, step: int) -> None:
        with self.lock:
            self.batches.append((run_id, step))

    def snapshot(self) -> list[tuple[str, int]]:
        with self.lock:
            return list(self.batches)


def batch_writer(
    log_batch: Callable[[str, int], None], run_id: str, acknowledged: Acknowledged, stop: threading.Event
) -> threading.Thread:
    """A thread calling ``log_batch(run_id, step)`` for steps 0, 1, ... until ``stop``, recording each
    acknowledged one; the first exception ends it and is kept in ``acknowledged.errors``."""

    def run() -> None:
        step = 0
        try:
            while not stop.is_set():
                log_batch(run_id, step)
                acknowledged.add(run_id, step)
                step += 1
        except BaseException as exc:  # reported by the test, which asserts there are none
            acknowledged.errors.append(exc)

    thread = threading.Thread(target=run, name=f"writer-{run_id[:8]}", daemon=True)
    thread.start()
    return thread


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds (a deadline for a hang, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout:g} s for {what}")
        time.sleep(0.05)


class ServerProcess:
    """``dockyard server`` in a process group of its own (its workers too), so a test can SIGKILL all of
    it at once, as a crash or the OOM killer would, and start it again on the same port."""

    def __init__(self, root: Path, backend: str, *, workers: int = 1, port: int | None = None) -> None:
        from server.dockyard_process import free_port

        self.root = root
        self.backend = backend
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        import httpx2

        self.starts += 1
        args = [
            sys.executable, "-m", "dockyard", "server", "--no-auth", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers), "--backend-store-uri", self.backend,
            "--artifacts-destination", str(self.root / "artifacts"),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_"))}
        env["PYTHONUNBUFFERED"] = "1"
        log = (self.root / f"server-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockyard server exited with {self.proc.returncode}: {self.log()}")
            try:
                if httpx2.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockyard server did not start in {timeout} s: {self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.root.glob("server-*.log")))

    def kill(self) -> None:
        """SIGKILL the server and its workers: no shutdown, no flush, no cleanup."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


CLUSTER_VERSION, CLUSTER_NAME, CLUSTER_PORT = "15", "reltest", 5444


def pg_cluster(action: str) -> None:
    """``pg_ctlcluster 15 reltest ACTION`` (start, stop, restart): the reliability tests' own cluster."""
    subprocess.run(
        ["pg_ctlcluster", CLUSTER_VERSION, CLUSTER_NAME, action, *(["-m", "fast"] if action != "start" else [])],
        check=True,
        capture_output=True,
        timeout=120,
    )


@contextmanager
def second_cluster() -> Iterator[str]:
    """A PostgreSQL cluster of the tests' own (``15/reltest`` on port 5444, created if missing) whose
    server the tests may stop and restart without touching the shared one; yields the URI of a fresh
    database on it. The cluster is dropped at the end, whatever happened (the shared one never stops)."""
    import shutil

    if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
        pytest.skip("a PostgreSQL cluster of the tests' own needs root and pg_createcluster")
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    if not any(line.split()[:2] == [CLUSTER_VERSION, CLUSTER_NAME] for line in listed.splitlines()):
        subprocess.run(
            ["pg_createcluster", CLUSTER_VERSION, CLUSTER_NAME, "--port", str(CLUSTER_PORT)],
            check=True,
            capture_output=True,
            timeout=120,
        )
    try:
        if not _cluster_online():
            pg_cluster("start")
        role = "SELECT 1 FROM pg_roles WHERE rolname = 'root'"
        psql = ["su", "postgres", "-c"]
        found = subprocess.run([*psql, f'psql -p {CLUSTER_PORT} -tAc "{role}"'], capture_output=True, text=True)
        if found.stdout.strip() != "1":
            subprocess.run([*psql, f"createuser -p {CLUSTER_PORT} -s root"], check=True, capture_output=True)
        server = f"postgresql+psycopg://@/postgres?host=/var/run/postgresql&port={CLUSTER_PORT}"
        with scratch_database("dockyard_rel_restart", server) as uri:
            yield uri
    finally:
        subprocess.run(
            ["pg_dropcluster", CLUSTER_VERSION, CLUSTER_NAME, "--stop"], capture_output=True, timeout=120, check=False
        )


def _cluster_online() -> bool:
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    return any(
        line.split()[:2] == [CLUSTER_VERSION, CLUSTER_NAME] and line.split()[3] == "online"
        for line in listed.splitlines()
    )
