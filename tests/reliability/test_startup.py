"""Operational edges: a busy port, an unwritable data folder or an unreachable database end ``dockyard
server``, ``ui`` and ``serve`` with one ``Error:`` line and a documented exit code before any banner;
``/metrics`` of ``dockyard serve --workers N`` sums the workers."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner, Result

from dockyard.cli import main
from dockyard.cli.startup import EXIT_CANNOT_LISTEN, EXIT_DATABASE_UNREACHABLE, EXIT_NOT_WRITABLE
from serving.conftest import COLUMNS, save_classifier
from serving.scoring_process import scoring_server

from server.dockyard_process import free_port


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def only_error_line(result: Result, exit_code: int) -> str:
    """The one line the command printed: an error, no banner, no traceback, with ``exit_code``."""
    assert result.exit_code == exit_code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_a_busy_port_stops_the_server_before_its_banner(tmp_path: Path, busy_port: int) -> None:
    args = ["server", "--no-auth", "--port", str(busy_port), "--backend-store-uri", str(tmp_path / "s.db")]
    line = only_error_line(CliRunner().invoke(main, args), EXIT_CANNOT_LISTEN)
    assert f"cannot listen on 127.0.0.1:{busy_port}: address already in use" in line


def test_a_busy_port_stops_the_ui_before_its_banner(busy_port: int) -> None:
    line = only_error_line(CliRunner().invoke(main, ["ui", "--port", str(busy_port)]), EXIT_CANNOT_LISTEN)
    assert "address already in use" in line


def test_a_busy_port_stops_the_scoring_server_before_its_banner(tmp_path: Path, busy_port: int) -> None:
    model = save_classifier(tmp_path / "model")
    line = only_error_line(
        CliRunner().invoke(main, ["serve", str(model), "--port", str(busy_port)]), EXIT_CANNOT_LISTEN
    )
    assert "address already in use" in line


def test_a_database_folder_that_is_a_file_is_not_writable(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    args = ["server", "--no-auth", "--port", "0", "--backend-store-uri", str(tmp_path / "taken" / "s.db")]
    line = only_error_line(CliRunner().invoke(main, args), EXIT_NOT_WRITABLE)
    assert "the folder of the database" in line and "is a file, not a folder" in line


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only tmpfs mount: unwritable even for root (permission bits are not)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_artifact_destination_is_named(tmp_path: Path, read_only_folder: Path) -> None:
    args = [
        "server", "--no-auth", "--port", "0", "--backend-store-uri", str(tmp_path / "s.db"),
        "--artifacts-destination", str(read_only_folder / "artifacts"),
    ]  # fmt: skip
    line = only_error_line(CliRunner().invoke(main, args), EXIT_NOT_WRITABLE)
    assert "the artifact destination" in line and "Read-only file system" in line


def test_a_read_only_database_folder_is_named(read_only_folder: Path) -> None:
    args = ["server", "--no-auth", "--port", "0", "--backend-store-uri", str(read_only_folder / "s.db")]
    line = only_error_line(CliRunner().invoke(main, args), EXIT_NOT_WRITABLE)
    assert "the folder of the database" in line and "Read-only file system" in line


def test_an_unreachable_database_is_one_line_and_its_own_exit_code() -> None:
    nobody = free_port()  # nothing listens there
    args = ["server", "--no-auth", "--port", "0", "--backend-store-uri", f"postgresql://127.0.0.1:{nobody}/dockyard"]
    line = only_error_line(CliRunner().invoke(main, args), EXIT_DATABASE_UNREACHABLE)
    assert "database unavailable" in line


def _sample(text: str, name: str) -> float:
    """The sum of the samples called ``name`` (any labels) in a Prometheus text page."""
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


def test_metrics_of_several_workers_count_every_request(tmp_path: Path) -> None:
    import time

    model = save_classifier(tmp_path / "model")
    body = {"dataframe_split": {"columns": COLUMNS, "data": [[3.0, 3.0, 0.0]]}}
    requests = 40
    serving = scoring_server(str(model), tmp_path / "serve", extra=("--workers", "2"))
    with serving as url, httpx2.Client(base_url=url, timeout=30) as http:
        for _ in range(requests):
            # A new connection each time: the kernel spreads them over both workers.
            assert http.post("/invocations", json=body, headers={"connection": "close"}).status_code == 200
        deadline = time.monotonic() + 30  # the workers publish their figures every second
        while True:
            page = http.get("/metrics", headers={"connection": "close"}).text
            counted = _sample(page, "dockyard_serving_requests_total")
            if counted == requests or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert counted == requests, page
    assert _sample(page, "dockyard_serving_request_duration_seconds_count") == requests
    assert _sample(page, "dockyard_serving_workers") == 2
    assert _sample(page, "dockyard_serving_model_info") == 1
