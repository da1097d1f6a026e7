"""dockyard db upgrade / current."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

import dockyard
from dockyard.db.migrate import HEAD_REVISION


def test_upgrade_creates_a_fresh_database(tmp_path: Path, cli: Callable[..., Result], store_path: str) -> None:
    result = cli("db", "upgrade", store_path, store=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{HEAD_REVISION}\n"
    assert f"Upgraded from none to {HEAD_REVISION}" in result.stderr
    assert Path(store_path).exists()
    # the schema is usable: a client opens it and finds the Default experiment
    assert dockyard.Client(store_path).get_experiment("0").name == "Default"


def test_upgrade_is_idempotent(cli: Callable[..., Result], store_path: str) -> None:
    assert cli("db", "upgrade", store_path, store=False).exit_code == 0
    again = cli("db", "upgrade", store_path, store=False)
    assert again.exit_code == 0, again.output
    assert again.stdout == f"{HEAD_REVISION}\n"
    assert f"Already at revision {HEAD_REVISION}" in again.stderr


def test_upgrade_accepts_a_sqlite_uri_and_a_new_directory(tmp_path: Path, cli: Callable[..., Result]) -> None:
    target = tmp_path / "nested" / "dir" / "x.db"
    result = cli("db", "upgrade", f"sqlite:///{target}", store=False)
    assert result.exit_code == 0, result.output
    assert target.exists()


def test_upgrade_with_tracking_uri_option(cli: Callable[..., Result], store_path: str) -> None:
    result = cli("db", "upgrade")  # the fixture adds --tracking-uri
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{HEAD_REVISION}\n"
    assert Path(store_path).exists()


def test_upgrade_defaults_to_the_configured_store(tmp_path: Path, cli: Callable[..., Result]) -> None:
    result = cli("db", "upgrade", store=False, env={"DOCKYARD_TRACKING_URI": str(tmp_path / "env.db")})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.db").exists()


def test_upgrade_refuses_uri_and_option_together(
    cli: Callable[..., Result], store_path: str, one_error_line: Callable[[Result], str]
) -> None:
    result = cli("db", "upgrade", store_path)
    assert result.exit_code == 2
    assert "not both" in one_error_line(result)


def test_upgrade_of_an_unsupported_uri_is_one_line(
    cli: Callable[..., Result], one_error_line: Callable[[Result], str]
) -> None:
    result = cli("db", "upgrade", "http://localhost:5000", store=False)
    assert result.exit_code == 1
    assert "unsupported database" in one_error_line(result)


def test_current_after_upgrade(cli: Callable[..., Result], store_path: str) -> None:
    cli("db", "upgrade", store_path, store=False)
    result = cli("db", "current", store_path, store=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{HEAD_REVISION}\n"
    by_option = cli("db", "current")
    assert by_option.stdout == f"{HEAD_REVISION}\n"


def test_current_of_a_store_a_client_opened(cli: Callable[..., Result], client: dockyard.Client) -> None:
    client.create_experiment("e")
    result = cli("db", "current")
    assert result.stdout == f"{HEAD_REVISION}\n"


def test_current_of_a_missing_file_is_none_and_creates_nothing(tmp_path: Path, cli: Callable[..., Result]) -> None:
    missing = tmp_path / "missing.db"
    result = cli("db", "current", str(missing), store=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == "none\n"
    assert not missing.exists()


def test_current_of_an_empty_database_is_none(tmp_path: Path, cli: Callable[..., Result]) -> None:
    import sqlite3

    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    result = cli("db", "current", str(path), store=False)
    assert result.stdout == "none\n"
