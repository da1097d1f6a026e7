"""The schema (tracking, logged models, the registry, webhooks) as SQLAlchemy Core tables.

This module describes the *current* schema; Alembic migrations in ``db/migrations/versions`` build it
step by step, and a test checks that the two agree.

Metrics are designed for volume. ``latest_metrics`` holds one row per (run, key): the series' identity
(``series_id``, a small integer) and its latest value, kept current on every write so that searches and
run views never scan the points. ``metrics`` holds the points themselves as integers and a double,
keyed by ``series_id`` instead of repeating the run id and key on every row (MLflow's composite primary
key over five columns grew to 11 GiB at 100M rows). NaN is stored as NULL; +-inf as themselves. A point
is unique per series: an exact duplicate (step, timestamp, value) is not stored again.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only aliases ROWID for a column declared exactly INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(500), nullable=False, unique=True),
    sa.Column("artifact_location", sa.Text, nullable=False),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    sa.Column("creation_time", sa.BigInteger),
    sa.Column("last_update_time", sa.BigInteger),
    sqlite_autoincrement=True,
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column(
        "experiment_id",
        sa.Integer,
        sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_uuid", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column(
        "experiment_id",
        sa.Integer,
        sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("user_id", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", sa.BigInteger),
    sa.Column("end_time", sa.BigInteger),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    sa.Column("artifact_uri", sa.Text, nullable=False),
    sa.Column("deleted_time", sa.BigInteger),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sqlite_with_rowid=False,  # the primary key is the table: one B-tree to write, not two
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sqlite_with_rowid=False,
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", sa.Double),  # NULL means NaN
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("run_uuid", "key", name="uq_latest_metrics_run_key"),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "series_id",
        sa.Integer,
        sa.ForeignKey("latest_metrics.series_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double),  # NULL means NaN
    sa.Index("ix_metrics_series_step", "series_id", "step", "timestamp"),
    # An exact duplicate point (MLflow 3's log_model re-sends the run's metrics) is stored once, as in
    # MLflow; inserts skip it with ON CONFLICT DO NOTHING. NULLs (NaN) are distinct in a unique index,
    # so NaN points get their own partial one.
    sa.Index("ux_metrics_point", "series_id", "step", "timestamp", "value", unique=True),
    sa.Index(
        "ux_metrics_nan_point",
        "series_id",
        "step",
        "timestamp",
        unique=True,
        sqlite_where=sa.text("value IS NULL"),
        postgresql_where=sa.text("value IS NULL"),
    ),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("dataset_uuid", sa.String(32), primary_key=True),
    sa.Column(
        "experiment_id",
        sa.Integer,
        sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("source_type", sa.String(36), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("schema", sa.Text),
    sa.Column("profile", sa.Text),
    sa.UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_experiment_name_digest"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "dataset_uuid",
        sa.String(32),
        sa.ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Index("ix_run_inputs_dataset", "dataset_uuid"),
)

run_input_tags = sa.Table(
    "run_input_tags",
    metadata,
    sa.Column("run_uuid", sa.String(32), primary_key=True),
    sa.Column("dataset_uuid", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(
        ["run_uuid", "dataset_uuid"],
        ["run_inputs.run_uuid", "run_inputs.dataset_uuid"],
        ondelete="CASCADE",
        name="fk_run_input_tags_input",
    ),
)

# ---------------------------------------------------------------------- MLflow 3 logged models (0002)

logged_models = sa.Table(
    "logged_models",
    metadata,
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
    sa.Index("ix_logged_models_experiment_created", "experiment_id", "creation_timestamp"),
    sa.Index("ix_logged_models_source_run", "source_run_id"),
)

logged_model_params = sa.Table(
    "logged_model_params",
    metadata,
    sa.Column("model_id", sa.String(40), sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

logged_model_tags = sa.Table(
    "logged_model_tags",
    metadata,
    sa.Column("model_id", sa.String(40), sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

logged_model_metrics = sa.Table(
    "logged_model_metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.String(40), sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", sa.Double),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("run_uuid", sa.String(32)),
    sa.Column("dataset_name", sa.String(500)),
    sa.Column("dataset_digest", sa.String(64)),
    sa.Index("ix_logged_model_metrics_model_key", "model_id", "key"),
)

run_outputs = sa.Table(
    "run_outputs",
    metadata,
    sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    sa.Column("model_id", sa.String(40), sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Index("ix_run_outputs_model", "model_id"),
)

run_model_inputs = sa.Table(
    "run_model_inputs",
    metadata,
    sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    sa.Column("model_id", sa.String(40), sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
)

# ---------------------------------------------------------------------- model registry (0003)

# A registered model has a surrogate key, so a rename is one UPDATE and the audit history follows it.
registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("description", sa.Text),
    sqlite_autoincrement=True,  # ids of deleted models are never handed out again
)

registered_model_tags = sa.Table(
    "registered_model_tags",
    metadata,
    sa.Column(
        "registered_model_id",
        sa.Integer,
        sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# A deleted version keeps its row (``deleted_timestamp`` set), so its number is never reused.
model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column(
        "registered_model_id",
        sa.Integer,
        sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("user_id", sa.String(256)),
    sa.Column("current_stage", sa.String(20), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("storage_location", sa.Text),
    sa.Column("run_id", sa.String(32)),
    sa.Column("run_link", sa.Text),
    sa.Column("logged_model_id", sa.String(40)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("status_message", sa.Text),
    sa.Column("deleted_timestamp", sa.BigInteger),
    sa.Index("ix_model_versions_run", "run_id"),
)

model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
    sa.Column("registered_model_id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(
        ["registered_model_id", "version"],
        ["model_versions.registered_model_id", "model_versions.version"],
        ondelete="CASCADE",
        name="fk_model_version_tags_version",
    ),
)

registered_model_aliases = sa.Table(
    "registered_model_aliases",
    metadata,
    sa.Column(
        "registered_model_id",
        sa.Integer,
        sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("alias", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(
        ["registered_model_id", "version"],
        ["model_versions.registered_model_id", "model_versions.version"],
        ondelete="CASCADE",
        name="fk_registered_model_aliases_version",
    ),
)

# The audit history. No foreign key: the history outlives the model it describes.
registry_events = sa.Table(
    "registry_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("registered_model_id", sa.Integer, nullable=False),
    sa.Column("model_name", sa.String(256), nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.String(256), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("alias", sa.String(255)),
    sa.Column("stage", sa.String(20)),
    sa.Column("from_stage", sa.String(20)),
    sa.Column("from_version", sa.Integer),
    sa.Column("to_version", sa.Integer),
    sa.Column("reason", sa.Text),
    sa.Column("undoes_event_id", sa.BigInteger),  # set on a rollback: the alias move it undid
    sa.Index("ix_registry_events_model", "registered_model_id", "id"),
)

# Validation gates (dockyard.registry.gates): what an alias ("alias", "champion") or a stage ("stage",
# "Production") of a registered model requires; rules as a JSON list of canonical rule texts.
model_gates = sa.Table(
    "model_gates",
    metadata,
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

# Validation records: one per validation run of one version; results and metrics as JSON.
model_validations = sa.Table(
    "model_validations",
    metadata,
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
    sa.Index("ix_model_validations_version", "registered_model_id", "version", "id"),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("webhook_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.Text),
    sa.Column("events", sa.Text, nullable=False),  # event names, comma-separated
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
)

# One row per delivery attempt; the attempts of one event to one webhook share a delivery_id.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", sa.String(40), nullable=False),
    sa.Column("delivery_id", sa.String(40), nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("model_name", sa.String(256)),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("response_status", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
)

# ---------------------------------------------------------------------- auth (dockyard server --auth)

# Who may sign in: passwords hashed with argon2id, never stored in clear.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(256), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
)

# Per-user grants, MLflow's permission names (READ, EDIT, MANAGE, NO_PERMISSIONS).
experiment_permissions = sa.Table(
    "experiment_permissions",
    metadata,
    sa.Column("experiment_id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("permission", sa.String(32), nullable=False),
)

registered_model_permissions = sa.Table(
    "registered_model_permissions",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("permission", sa.String(32), nullable=False),
)

# API tokens: "dyt_<token_id>_<secret>"; only the SHA-256 of the 256-bit secret is kept.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("expiry_time", sa.BigInteger),
    sa.Column("revoked", sa.Boolean, nullable=False),
)

# Roles (MLflow 3's RBAC): named sets of permissions on resource patterns ("*" or one id), given to users.
roles = sa.Table(
    "roles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(256), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("description", sa.Text),
    sa.UniqueConstraint("workspace", "name", name="uq_roles_workspace_name"),
)

role_permissions = sa.Table(
    "role_permissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("role_id", sa.Integer, sa.ForeignKey("roles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("resource_type", sa.String(32), nullable=False),
    sa.Column("resource_pattern", sa.String(256), nullable=False),
    sa.Column("permission", sa.String(32), nullable=False),
)

user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("role_id", sa.Integer, sa.ForeignKey("roles.id", ondelete="CASCADE"), nullable=False),
    sa.UniqueConstraint("user_id", "role_id", name="uq_user_roles_user_role"),
)
