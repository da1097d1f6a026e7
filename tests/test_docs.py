"""docs/cli.md documents every command, argument and option of the `dockyard` CLI.

Each command has a heading naming its full path in backticks (``### `dockyard runs list` ``); the
section below that heading, up to the next heading, must mention each of the command's options (by
every long and short name) and arguments (by metavar, e.g. RUN_ID).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

from dockyard.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
HEADING = re.compile(r"^#{1,6}\s+`(dockyard(?: [a-z-]+)*)`", re.MULTILINE)
SKIPPED_OPTIONS = {"--help", "-h"}


def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, f"{path} {name}")


def sections(text: str) -> dict[str, str]:
    """Command path -> the text between its heading and the next heading."""
    starts = [(m.group(1), m.end()) for m in HEADING.finditer(text)]
    all_headings = [m.start() for m in re.finditer(r"^#{1,6}\s", text, re.MULTILINE)]
    result: dict[str, str] = {}
    for path, start in starts:
        end = min((h for h in all_headings if h > start), default=len(text))
        result[path] = text[start:end]
    return result


def mentioned(name: str, body: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", body) is not None


def test_cli_reference_documents_every_command_and_option() -> None:
    documented = sections(DOC.read_text(encoding="utf-8"))
    ctx = click.Context(main, info_name="dockyard")
    missing: list[str] = []
    commands = list(walk(main, "dockyard"))
    assert len(commands) > 10  # the walk found the tree
    for path, command in commands:
        body = documented.get(path)
        if body is None:
            missing.append(f"command `{path}` has no heading")
            continue
        for param in command.get_params(ctx):
            if isinstance(param, click.Option):
                names = [n for n in (*param.opts, *param.secondary_opts) if n not in SKIPPED_OPTIONS]
            else:
                names = [param.make_metavar(ctx).rstrip(".").strip("[]").rstrip(".")]
            missing.extend(f"`{path}`: {name}" for name in names if not mentioned(name, body))
    assert not missing, "docs/cli.md does not mention:\n" + "\n".join(missing)
