"""Alembic environment: always run in process with a connection handed over by ``db.migrate``."""

from __future__ import annotations

from alembic import context

from dockyard.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI, which we don't use
    raise RuntimeError("run migrations with `dockyard db upgrade URI`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
