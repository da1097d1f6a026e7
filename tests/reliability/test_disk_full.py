"""A full disk under the artifact store and under SQLite (a small tmpfs mount made by the test): the server
answers 503 naming the store that is full, nothing partial is visible, writes succeed again once space is
freed, and the database passes its integrity check."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner

import dockyard
from dockyard.artifacts.local import _is_tmp
from dockyard.cli import main
from reliability.scratch import ServerProcess

MOUNT_SIZE = "8m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a tmpfs of its own of MOUNT_SIZE, unmounted afterwards whatever happened."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={MOUNT_SIZE}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=True)  # still busy: detach it


def fill(folder: Path, leave: int) -> Path:
    """A file taking all of ``folder``'s free space but ``leave`` bytes; delete it to free the space."""
    filler = folder / "filler"
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    with filler.open("wb") as fh:
        fh.write(b"\0" * max(free - leave, 0))
    return filler


@pytest.fixture
def server_with(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def test_a_full_artifact_store_answers_503_and_keeps_nothing_partial(
    tmp_path: Path, small_disk: Path, server_with: list[ServerProcess]
) -> None:
    root = tmp_path / "server"
    root.mkdir()
    (root / "artifacts").symlink_to(small_disk)  # the server's artifact destination is the small disk
    server = ServerProcess(root, str(tmp_path / "server.db"))
    server_with.append(server)
    server.start()
    client = dockyard.Client(server.url)
    run_id = client.create_run("0").info.run_id
    client.log_artifact_bytes(run_id, "before.bin", b"x" * 1000)
    filler = fill(small_disk, leave=64 * 1024)

    url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/big.bin"
    response = httpx2.put(url, content=b"y" * (1024 * 1024), timeout=30)
    assert response.status_code == 503, response.text
    assert "the artifact store is full" in response.json()["message"]
    with pytest.raises(dockyard.errors.StoreUnavailable, match="artifact store is full"):
        client.log_artifact_bytes(run_id, "big.bin", b"y" * (1024 * 1024))
    run_folder = small_disk / "0" / run_id / "artifacts"
    assert sorted(p.name for p in run_folder.iterdir()) == ["before.bin"]  # no partial file, no temp file

    filler.unlink()  # space returns: so does the service, without a restart
    client.log_artifact_bytes(run_id, "big.bin", b"y" * (1024 * 1024))
    assert (run_folder / "big.bin").read_bytes() == b"y" * (1024 * 1024)
    assert not [p for p in run_folder.iterdir() if _is_tmp(p.name)]
    client.close()
    assert "Traceback" not in server.log()


def test_a_full_sqlite_disk_answers_503_and_the_database_stays_intact(
    tmp_path: Path, small_disk: Path, server_with: list[ServerProcess]
) -> None:
    database = small_disk / "server.db"
    server = ServerProcess(tmp_path, str(database))
    server_with.append(server)
    server.start()
    api = f"{server.url}/api/2.0/mlflow"
    with httpx2.Client(base_url=api, timeout=30) as http:
        run_id = http.post("/runs/create", json={"experiment_id": "0", "start_time": 1}).json()["run"]["info"]["run_id"]
        filler = fill(small_disk, leave=256 * 1024)

        def batch(n: int) -> httpx2.Response:
            params = [{"key": f"b{n}-{i}", "value": "v" * 5000} for i in range(40)]  # ~200 KB a batch
            return http.post("/runs/log-batch", json={"run_id": run_id, "params": params})

        acknowledged, status = [], 200
        for n in range(50):
            response = batch(n)
            status = response.status_code
            if status != 200:
                break
            acknowledged.append(n)
        assert status == 503, response.text
        message = response.json()["message"]
        assert "database unavailable: its disk is full" in message
        failed = n

        filler.unlink()
        assert batch(failed).status_code == 200  # space returns: so does the service
        params = http.get("/runs/get", params={"run_id": run_id}).json()["run"]["data"]["params"]
    keys = {p["key"] for p in params}
    for n in [*acknowledged, failed]:
        assert {f"b{n}-{i}" for i in range(40)} <= keys, f"batch {n} incomplete"
    assert len(keys) == 40 * (len(acknowledged) + 1)  # nothing of the failed attempt but its retry
    server.stop()
    check = CliRunner().invoke(
        main, ["db", "check", "--tracking-uri", str(database), "--artifacts-destination", str(tmp_path / "artifacts")]
    )
    assert check.exit_code == 0, check.output
    assert check.output.startswith("integrity: ok")
