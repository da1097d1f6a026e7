"""Schema migrations, run in process through Alembic's Python API.

One entry point, :func:`upgrade`, serves ``dockyard db upgrade``, opening a store and the tests. It is
safe to call from many processes at once: on SQLite the migration runs inside a ``BEGIN IMMEDIATE``
transaction (one process migrates, the others wait and then find the schema current); on PostgreSQL a
transaction-scoped advisory lock does the same.

Opening a current database costs one ``SELECT`` (:func:`ensure_schema`); Alembic is imported only when
there is something to do.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.db.engine import Database

# The newest revision in migrations/versions; tests/db/test_migrate.py keeps it in step with Alembic.
HEAD_REVISION = "0007"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_ADVISORY_LOCK_KEY = 0x646F636B  # "dock"


def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None for a database Dockyard has never touched."""
    import sqlalchemy as sa

    with db.read() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _run(db: Database, action: str, revision: str) -> str | None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.write() as conn:
        if not db.is_sqlite:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)
    return current_revision(db)


def upgrade(db: Database, revision: str = "head") -> str | None:
    """Bring the schema to ``revision`` (default: the newest); returns the revision it is at now."""
    return _run(db, "upgrade", revision)


def downgrade(db: Database, revision: str) -> str | None:
    """Step the schema back to ``revision`` ("base" drops everything); for tests and emergencies."""
    return _run(db, "downgrade", revision)


def ensure_schema(db: Database) -> None:
    """Upgrade the database unless it is already at :data:`HEAD_REVISION`."""
    if current_revision(db) != HEAD_REVISION:
        upgrade(db)
