"""Validation gates of registered models and the validation records of model versions (issue 16).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "model_gates",
        sa.Column(
            "registered_model_id",
            sa.Integer,
            sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("target", sa.String(255), primary_key=True),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(256)),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "model_validations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("registered_model_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("baseline_version", sa.Integer),
        sa.Column("data_digest", sa.String(128)),
        sa.Column("results", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("report_uri", sa.Text),
        sa.ForeignKeyConstraint(
            ["registered_model_id", "version"],
            ["model_versions.registered_model_id", "model_versions.version"],
            ondelete="CASCADE",
            name="fk_model_validations_version",
        ),
    )
    op.create_index("ix_model_validations_version", "model_validations", ["registered_model_id", "version", "id"])


def downgrade() -> None:
    op.drop_index("ix_model_validations_version", table_name="model_validations")
    op.drop_table("model_validations")
    op.drop_table("model_gates")
