"""The root command: --version, help, usage errors, and where the store comes from."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

import dockyard
from dockyard.__about__ import __version__


def test_version(cli: Callable[..., Result]) -> None:
    result = cli("--version", store=False)
    assert result.exit_code == 0
    assert result.output == f"dockyard {__version__}\n"


def test_python_dash_m_dockyard_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dockyard", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"dockyard {__version__}"


def test_help_lists_the_command_groups(cli: Callable[..., Result]) -> None:
    result = cli("--help", store=False)
    assert result.exit_code == 0
    for name in ("db", "experiments", "runs"):
        assert name in result.output


def test_group_without_subcommand_prints_its_help(cli: Callable[..., Result]) -> None:
    result = cli("runs", store=False)
    assert "list" in result.output and "show" in result.output
    assert "Traceback" not in result.output


def test_unknown_command_is_one_line(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    result = cli("nope", store=False)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "No such command 'nope'" in line
    assert "dockyard --help" in line


def test_unknown_option_is_one_line(cli: Callable[..., Result], one_error_line: Callable[[Result], str]) -> None:
    result = cli("runs", "list", "--bogus")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "--bogus" in line
    assert "dockyard runs list --help" in line


def test_bad_environment_setting_is_one_line(
    cli: Callable[..., Result], one_error_line: Callable[[Result], str]
) -> None:
    result = cli("experiments", "list", env={"DOCKYARD_ASYNC_LOGGING": "maybe"})
    assert result.exit_code == 1
    assert "DOCKYARD_ASYNC_LOGGING" in one_error_line(result)


def test_store_comes_from_the_environment_without_the_option(
    tmp_path: Path, cli: Callable[..., Result], client: dockyard.Client, store_path: str
) -> None:
    client.create_experiment("from-env")
    result = cli("experiments", "list", store=False, env={"DOCKYARD_TRACKING_URI": store_path})
    assert result.exit_code == 0, result.output
    assert "from-env" in result.stdout


def test_the_option_overrides_the_environment(
    tmp_path: Path, cli: Callable[..., Result], client: dockyard.Client
) -> None:
    client.create_experiment("in-option-store")
    other = str(tmp_path / "other.db")
    result = cli("experiments", "list", env={"DOCKYARD_TRACKING_URI": other})
    assert result.exit_code == 0, result.output
    assert "in-option-store" in result.stdout


def test_default_store_is_in_the_working_directory(tmp_path: Path, cli: Callable[..., Result]) -> None:
    # conftest changes into tmp_path and clears DOCKYARD_TRACKING_URI
    result = cli("experiments", "create", "here", store=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".dockyard" / "dockyard.db").exists()


def test_unusable_store_path_is_one_line(
    tmp_path: Path, cli: Callable[..., Result], one_error_line: Callable[[Result], str]
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    result = cli("runs", "list", "--tracking-uri", str(tmp_path / "a-file" / "x.db"), store=False)
    assert result.exit_code == 1
    assert "a-file" in one_error_line(result)


def test_every_command_takes_tracking_uri() -> None:
    import click

    from dockyard.cli import main

    def leaves(group: click.Group) -> list[click.Command]:
        found: list[click.Command] = []
        for command in group.commands.values():
            found.extend(leaves(command) if isinstance(command, click.Group) else [command])
        return found

    # `server` and `ui` serve a store rather than use one: they take --backend-store-uri instead.
    commands = [c for c in leaves(main) if c.name not in ("server", "ui")]
    # db 5, experiments 5, runs 5, models 11 + webhooks 5 + gate 5, serve, predict, demo, users 5, tokens 3,
    # permissions 3, gc, package, validate, monitor
    assert len(commands) == 54
    for command in commands:
        assert any("--tracking-uri" in p.opts for p in command.params), command.name
