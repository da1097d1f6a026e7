"""Fixtures for the CLI tests: a fresh store per test and a runner that points commands at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import dockyard
from dockyard.cli import main
from dockyard.core.config import ENVIRONMENT_VARIABLES
from dockyard.tracking.backends import close_all


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No DOCKYARD_* variable leaks in, the default store lands in tmp_path, engines are disposed."""
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    close_all()


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    return str(tmp_path / "s.db")


@pytest.fixture
def client(store_path: str) -> Iterator[dockyard.Client]:
    c = dockyard.Client(store_path)
    yield c
    c.close()


@pytest.fixture
def cli(store_path: str) -> Callable[..., Result]:
    """``cli("runs", "list", "--json")`` runs the command against the test's store."""
    runner = CliRunner()

    def invoke(*args: str, store: bool = True, env: dict[str, str] | None = None) -> Result:
        argv = [*args, "--tracking-uri", store_path] if store else list(args)
        return runner.invoke(main, argv, env=env)

    return invoke


def error_line(result: Result) -> str:
    """The single line a failed command printed (asserting that it is one line without a traceback)."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture
def one_error_line() -> Callable[[Result], str]:
    return error_line
