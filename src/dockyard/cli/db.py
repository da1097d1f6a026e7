"""``dockyard db``: create or upgrade a store's schema, show its revision, back it up, restore and check it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup, build_settings, tracking_uri_option
from dockyard.core.config import normalize_tracking_uri

NO_REVISION = "none"


@click.group("db", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def db() -> None:
    """Create, upgrade, back up, restore and check the tracking database."""


def _database_uri(uri: str | None, tracking_uri: str | None) -> str:
    if uri is not None and tracking_uri is not None:
        raise click.UsageError("give the database as URI or with --tracking-uri, not both")
    if uri is not None:
        return normalize_tracking_uri(uri)
    return build_settings(tracking_uri).tracking_uri


@db.command("upgrade", context_settings=CONTEXT_SETTINGS)
@click.argument("uri", required=False)
@tracking_uri_option
def upgrade(uri: str | None, tracking_uri: str | None) -> None:
    """Create or upgrade the schema of the database at URI and print its revision.

    URI is a path, sqlite:///... or postgresql://... [default: the configured tracking URI].
    Safe to run again, and from several processes at once.
    """
    from dockyard.db.engine import Database
    from dockyard.db.migrate import current_revision
    from dockyard.db.migrate import upgrade as run_upgrade

    database = Database(_database_uri(uri, tracking_uri))
    try:
        before = current_revision(database)
        after = run_upgrade(database)
    finally:
        database.dispose()
    if before == after:
        click.echo(f"Already at revision {after}.", err=True)
    else:
        click.echo(f"Upgraded from {before or NO_REVISION} to {after}.", err=True)
    click.echo(after or NO_REVISION)


@db.command("current", context_settings=CONTEXT_SETTINGS)
@click.argument("uri", required=False)
@tracking_uri_option
def current(uri: str | None, tracking_uri: str | None) -> None:
    """Print the schema revision of the database at URI ('none' if Dockyard never touched it).

    URI is a path, sqlite:///... or postgresql://... [default: the configured tracking URI].
    Nothing is created: a SQLite file that does not exist is reported as 'none'.
    """
    from dockyard.db.engine import Database, sqlite_path
    from dockyard.db.migrate import current_revision

    target = _database_uri(uri, tracking_uri)
    if target.startswith("sqlite:"):
        path = sqlite_path(target)
        if path is not None and not Path(path).exists():
            click.echo(NO_REVISION)
            return
    database = Database(target)
    try:
        revision = current_revision(database)
    finally:
        database.dispose()
    click.echo(revision or NO_REVISION)


@db.command("backup", context_settings=CONTEXT_SETTINGS)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@tracking_uri_option
def backup(path: Path, tracking_uri: str | None) -> None:
    """Copy the database to PATH while the server keeps running (a consistent snapshot).

    SQLite: SQLite's online backup API, into one file. PostgreSQL: pg_dump's custom format. PATH is
    written under another name and renamed when complete: it never holds half a backup. Artifacts are
    files: back their folder or bucket up with your usual tools (docs/operations.md).
    """
    from dockyard.db.engine import Database
    from dockyard.db.maintenance import backup as run_backup

    database = Database(build_settings(tracking_uri).tracking_uri)
    try:
        done = run_backup(database, path)
    finally:
        database.dispose()
    click.echo(f"Backed up {_shown(database.uri)} to {done.path} ({done.kind}, {done.bytes} bytes).", err=True)
    click.echo(str(done.path))


@db.command("restore", context_settings=CONTEXT_SETTINGS)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the contents of a store that is not empty.")
@tracking_uri_option
def restore(path: Path, force: bool, tracking_uri: str | None) -> None:
    """Restore the backup at PATH (from `dockyard db backup`) into the store, then upgrade its schema.

    The store must be empty (no runs, no registered models, no experiment but the Default one) unless
    --force is given. Stop the servers using the store first.
    """
    from dockyard.db.engine import Database
    from dockyard.db.maintenance import restore as run_restore
    from dockyard.db.migrate import upgrade as run_upgrade

    database = Database(build_settings(tracking_uri).tracking_uri)
    try:
        run_restore(database, path, force=force)
        revision = run_upgrade(database)
    finally:
        database.dispose()
    click.echo(f"Restored {path} into {_shown(database.uri)} (schema revision {revision}).", err=True)


@db.command("check", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--artifacts-destination",
    default=None,
    metavar="FOLDER",
    help="The artifact folder to look for orphans in [default: artifacts/ next to the database].",
)
@tracking_uri_option
def check(artifacts_destination: str | None, tracking_uri: str | None) -> None:
    """Report the database's integrity, its schema revision and orphaned artifact folders.

    One line each: `integrity: ok`, `schema: 0007 (current)`, `orphaned artifacts: 0`, then one line per
    orphan (a folder whose experiment, run or logged model is not in the database). Exits 1 when anything
    is wrong, 0 otherwise.
    """
    import os

    from dockyard.db.engine import Database
    from dockyard.db.maintenance import integrity_problems
    from dockyard.db.migrate import HEAD_REVISION, current_revision
    from dockyard.tracking.backends import default_artifact_root
    from dockyard.tracking.sql_gc import known_ids

    settings = build_settings(tracking_uri)
    database = Database(settings.tracking_uri)
    try:
        problems = integrity_problems(database)
        revision = current_revision(database)
        known = known_ids(database) if revision is not None else None
    finally:
        database.dispose()
    destination = artifacts_destination or default_artifact_root(settings)
    orphans = [] if known is None or "://" in destination else _orphans(Path(os.path.abspath(destination)), known)
    click.echo("integrity: ok" if not problems else f"integrity: {len(problems)} problem(s)")
    for problem in problems:
        click.echo(f"  {problem}")
    state = "current" if revision == HEAD_REVISION else f"behind {HEAD_REVISION}: run 'dockyard db upgrade'"
    click.echo(f"schema: {revision or NO_REVISION} ({state if revision else 'not a Dockyard store'})")
    if "://" in destination:
        click.echo(f"orphaned artifacts: not checked ({destination} is not a local folder)")
    else:
        click.echo(f"orphaned artifacts: {len(orphans)}")
    for orphan in orphans:
        click.echo(f"  {orphan}")
    if problems or revision != HEAD_REVISION or orphans:
        raise click.exceptions.Exit(1)


def _orphans(root: Path, known: Any) -> list[Path]:
    """Folders under ``root`` (``<experiment>/<run>``, ``<experiment>/models/<model>``) the database lacks."""
    if not root.is_dir():
        return []
    found: list[Path] = []
    for experiment in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        if experiment.name not in known.experiments:
            found.append(experiment)
            continue
        for child in sorted(p for p in experiment.iterdir() if p.is_dir()):
            if child.name == "models":
                found += [m for m in sorted(child.iterdir()) if m.is_dir() and m.name not in known.logged_models]
            elif _RUN_ID.match(child.name) and child.name not in known.runs:
                found.append(child)
    return found


_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def _shown(uri: str) -> str:
    """``uri`` without its password."""
    from sqlalchemy.engine import make_url

    return make_url(uri).render_as_string(hide_password=True)
