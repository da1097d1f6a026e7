"""Exact duplicate metric points stored once: existing duplicates removed, a unique index per point.

MLflow 3's ``log_model`` re-sends the run's metrics with the model's id; MLflow keeps one copy of an
exact duplicate (run, key, value, timestamp, step), and so does Dockyard from this revision on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keep the first copy (lowest id) of each point. PARTITION BY groups NULLs (NaN) together, unlike
    # equality, so duplicate NaN points are collapsed too. The value of latest_metrics is unchanged:
    # every (step, timestamp, value) it can name still has one point.
    op.execute(
        "DELETE FROM metrics WHERE id IN ("
        " SELECT id FROM ("
        "  SELECT id, ROW_NUMBER() OVER (PARTITION BY series_id, step, timestamp, value ORDER BY id) AS copy"
        "  FROM metrics"
        " ) AS numbered WHERE copy > 1"
        ")"
    )
    op.create_index("ux_metrics_point", "metrics", ["series_id", "step", "timestamp", "value"], unique=True)
    # NULLs are distinct in a unique index: NaN points (stored as NULL) need a partial index of their own.
    op.create_index(
        "ux_metrics_nan_point",
        "metrics",
        ["series_id", "step", "timestamp"],
        unique=True,
        sqlite_where=sa.text("value IS NULL"),
        postgresql_where=sa.text("value IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_metrics_nan_point", table_name="metrics")
    op.drop_index("ux_metrics_point", table_name="metrics")
