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


def test_upgrade_to_0006_keeps_one_copy_of_each_duplicate_metric_point(db_uri: str, tmp_path: Path) -> None:
    """Databases written before 0006 hold MLflow 3 log_model's doubled points; the upgrade folds them."""
    import sqlalchemy as sa

    from dockyard.tracking.sql_store import SqlTrackingStore

    db = Database(db_uri)
    try:
        store = SqlTrackingStore(db, artifact_root=str(tmp_path / "a"))
        run_id = store.create_run("0", "tester", 0, "r", []).info.run_id
        other_id = store.create_run("0", "tester", 0, "r2", []).info.run_id
        downgrade(db, "0005")
        with db.write() as conn:
            for rid in (run_id, other_id):
                conn.execute(t.latest_metrics.insert().values(run_uuid=rid, key="acc", value=0.9, timestamp=5, step=1))
            series = dict(conn.execute(sa.select(t.latest_metrics.c.run_uuid, t.latest_metrics.c.series_id)).all())
            points = [(0, 1, 0.5), (0, 1, 0.5), (0, 1, 0.5), (0, 1, None), (0, 1, None), (0, 2, 0.5), (1, 5, 0.9)]
            rows = [{"series_id": series[run_id], "step": s, "timestamp": ts, "value": v} for s, ts, v in points]
            rows += [{"series_id": series[other_id], "step": 0, "timestamp": 1, "value": 0.5}]
            rows += [{"series_id": series[run_id], "step": 1, "timestamp": 5, "value": 0.9}]
            conn.execute(t.metrics.insert(), rows)
        assert upgrade(db) == HEAD_REVISION
        history = store.get_metric_history(run_id, "acc", 100, None).items
        got = [(m.step, m.timestamp, None if m.value != m.value else m.value) for m in history]
        assert sorted(got, key=repr) == sorted([(0, 1, 0.5), (0, 1, None), (0, 2, 0.5), (1, 5, 0.9)], key=repr)
        assert len(store.get_metric_history(other_id, "acc", 100, None).items) == 1
        assert store.get_run(run_id).data.metrics == {"acc": 0.9}
    finally:
        db.dispose()
