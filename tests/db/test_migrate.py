from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.db import Database, ensure_schema, upgrade
from dockyard.db import tables as t
from dockyard.db.migrate import HEAD_REVISION, MIGRATIONS_DIR, current_revision, downgrade


def test_head_revision_constant_matches_the_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_migrated_schema_matches_the_table_definitions(db_uri: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(db_uri)
    try:
        with db.read() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), t.metadata)
    finally:
        db.dispose()
    assert diff == []


def test_new_database_is_upgraded_and_upgrade_is_idempotent(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(db) is None
    assert upgrade(db) == HEAD_REVISION
    assert upgrade(db) == HEAD_REVISION
    ensure_schema(db)
    assert current_revision(db) == HEAD_REVISION
    db.dispose()


def test_older_database_is_upgraded_on_open(tmp_path: Path) -> None:
    """A database at an older revision (here: before the first) is brought to head when opened."""
    from dockyard.tracking.sql_store import SqlTrackingStore

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db)
    downgrade(db, "base")  # as if the file predates the first migration
    assert current_revision(db) is None
    store = SqlTrackingStore(db, artifact_root=str(tmp_path / "a"))
    assert current_revision(db) == HEAD_REVISION
    assert store.get_experiment("0").name == "Default"
    db.dispose()


def test_unsupported_database_is_refused() -> None:
    from dockyard.core.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="unsupported database"):
        Database("mysql://localhost/x")
