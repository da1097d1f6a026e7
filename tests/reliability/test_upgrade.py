"""Upgrades through migrations: a store as the 0.1.0 release left it (schema revision 0004, the newest
migration its wheel ships), holding runs, metrics, params, tags and registered models, is opened by this
release, upgraded in place, and everything in it reads back unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import dockyard
from dockyard.db import Database
from dockyard.db.migrate import HEAD_REVISION, current_revision, downgrade, upgrade
from reliability.scratch import POSTGRES_URI, scratch_database

PREVIOUS_RELEASE_REVISION = "0004"  # dist/dockyard-0.1.0: migrations 0001-0004
RUN_ID = "0123456789abcdef0123456789abcdef"


def fill_as_the_previous_release(uri: str) -> None:
    """The schema of revision 0004, filled through its own tables (reflected, so no column of a later
    revision is assumed)."""
    db = Database(uri)
    try:
        upgrade(db, PREVIOUS_RELEASE_REVISION)
        assert current_revision(db) == PREVIOUS_RELEASE_REVISION
        with db.write() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            t = meta.tables

            def insert(table: str, **values: object) -> None:
                columns = set(t[table].c.keys())
                conn.execute(t[table].insert().values({k: v for k, v in values.items() if k in columns}))

            insert("experiments", experiment_id=0, name="Default", artifact_location="/a/0", lifecycle_stage="active",
                   creation_time=1, last_update_time=1)  # fmt: skip
            insert("experiments", experiment_id=1, name="kept", artifact_location="/a/1", lifecycle_stage="active",
                   creation_time=2, last_update_time=2)  # fmt: skip
            run_folder = f"/a/1/{RUN_ID}/artifacts"
            insert("runs", run_uuid=RUN_ID, name="old-run", experiment_id=1, user_id="ann", status="FINISHED",
                   start_time=10, end_time=20, lifecycle_stage="active", artifact_uri=run_folder)  # fmt: skip
            insert("params", run_uuid=RUN_ID, key="lr", value="0.1")
            insert("tags", run_uuid=RUN_ID, key="mlflow.runName", value="old-run")
            insert("tags", run_uuid=RUN_ID, key="team", value="risk")
            insert("latest_metrics", series_id=1, run_uuid=RUN_ID, key="loss", value=0.25, timestamp=30, step=2)
            for step, value in ((0, 1.0), (1, 0.5), (2, 0.25)):
                insert("metrics", series_id=1, step=step, timestamp=10 + 10 * step, value=value)
            insert("registered_models", id=1, name="churn", creation_timestamp=5, last_updated_timestamp=5,
                   description="old model")  # fmt: skip
            insert("model_versions", registered_model_id=1, version=1, creation_timestamp=6, last_updated_timestamp=6,
                   current_stage="None", source=f"{run_folder}/model", run_id=RUN_ID, status="READY")  # fmt: skip
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'old.db'}"
        fill_as_the_previous_release(uri)
        yield uri
        return
    if not POSTGRES_URI:
        pytest.skip("DOCKYARD_TEST_POSTGRES_URI is not set")
    with scratch_database("dockyard_rel_upgrade") as uri:
        fill_as_the_previous_release(uri)
        yield uri


def test_a_store_of_the_previous_release_upgrades_with_its_data_intact(old_store: str) -> None:
    client = dockyard.Client(old_store)  # opening it upgrades it
    try:
        db = Database(old_store)
        assert current_revision(db) == HEAD_REVISION
        db.dispose()
        run = client.get_run(RUN_ID)
        assert (run.info.run_name, run.info.user_id, run.info.status) == ("old-run", "ann", "FINISHED")
        assert run.data.params == {"lr": "0.1"}
        assert run.data.tags["team"] == "risk"
        assert run.data.metrics == {"loss": 0.25}
        assert [(m.step, m.value) for m in client.get_metric_history(RUN_ID, "loss")] == [(0, 1.0), (1, 0.5), (2, 0.25)]
        assert client.get_experiment_by_name("kept").experiment_id == "1"
        model = client.get_registered_model("churn")
        assert model.description == "old model"
        version = client.get_model_version("churn", 1)
        assert (version.run_id, version.status) == (RUN_ID, "READY")
        # and it takes new writes
        client.log_param(RUN_ID, "new", "1")
        assert client.get_run(RUN_ID).data.params == {"lr": "0.1", "new": "1"}
    finally:
        client.close()


def test_the_upgrade_can_be_stepped_back_for_an_emergency(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'old.db'}"
    fill_as_the_previous_release(uri)
    db = Database(uri)
    try:
        assert upgrade(db) == HEAD_REVISION
        assert downgrade(db, PREVIOUS_RELEASE_REVISION) == PREVIOUS_RELEASE_REVISION
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT value FROM params WHERE key = 'lr'").scalar() == "0.1"
    finally:
        db.dispose()
