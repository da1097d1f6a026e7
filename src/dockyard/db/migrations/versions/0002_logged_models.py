"""MLflow 3 logged models: models with their own id, params, tags and metrics; run outputs and model inputs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _model_fk(primary_key: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "model_id",
        sa.String(40),
        sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(40), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("model_type", sa.String(500)),
        sa.Column("source_run_id", sa.String(32)),
        sa.Column("creator_id", sa.String(256)),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    )
    op.create_index("ix_logged_models_experiment_created", "logged_models", ["experiment_id", "creation_timestamp"])
    op.create_index("ix_logged_models_source_run", "logged_models", ["source_run_id"])
    for name in ("logged_model_params", "logged_model_tags"):
        op.create_table(
            name,
            _model_fk(),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_table(
        "logged_model_metrics",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _model_fk(primary_key=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("run_uuid", sa.String(32)),
        sa.Column("dataset_name", sa.String(500)),
        sa.Column("dataset_digest", sa.String(64)),
    )
    op.create_index("ix_logged_model_metrics_model_key", "logged_model_metrics", ["model_id", "key"])
    op.create_table(
        "run_outputs",
        sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
        _model_fk(),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_run_outputs_model", "run_outputs", ["model_id"])
    op.create_table(
        "run_model_inputs",
        sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
        _model_fk(),
    )


def downgrade() -> None:
    for name in (
        "run_model_inputs",
        "run_outputs",
        "logged_model_metrics",
        "logged_model_tags",
        "logged_model_params",
        "logged_models",
    ):
        op.drop_table(name)
