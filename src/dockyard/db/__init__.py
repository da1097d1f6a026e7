"""Persistence: engines (SQLite and PostgreSQL), tables, and in-process Alembic migrations.

Knows tables, not entities: the ``store`` modules turn rows into entities.
"""

from __future__ import annotations

from dockyard.db.engine import Database
from dockyard.db.migrate import ensure_schema, upgrade

__all__ = ["Database", "ensure_schema", "upgrade"]
