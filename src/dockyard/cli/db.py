"""``dockyard db``: create or upgrade a store's schema, and show its revision."""

from __future__ import annotations

from pathlib import Path

import click

from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup, build_settings, tracking_uri_option
from dockyard.core.config import normalize_tracking_uri

NO_REVISION = "none"


@click.group("db", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def db() -> None:
    """Create or upgrade the tracking database's schema."""


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
