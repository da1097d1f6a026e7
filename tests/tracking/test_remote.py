"""The tracking contract against the remote client, talking to the in-process server app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.artifacts import LocalArtifactStore
from dockyard.core.config import Settings
from dockyard.db import Database
from dockyard.server.app import create_app
from dockyard.tracking.remote import RemoteTrackingService
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore

from tracking.contract import TrackingContract


@pytest.fixture
def tracking(db_uri: str, tmp_path: Path) -> Iterator[Any]:
    db = Database(db_uri)
    service = TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:"))
    app = create_app(Settings.from_env({}), tracking=service, artifacts=LocalArtifactStore(tmp_path / "destination"))
    with TestClient(app) as http:
        yield RemoteTrackingService("http://testserver", http=http, retries=0)
    db.dispose()


class TestRemoteService(TrackingContract):
    pass


def test_log_model_re_sending_the_runs_points_leaves_one_copy_in_get_history(db_uri: str, tmp_path: Path) -> None:
    """The REST calls of MLflow 3's ``log_model``: after creating the logged model it re-sends the run's
    points of the model's step through ``log-batch`` with a ``model_id`` (bodies as mlflow 3.18 writes
    them); ``get-history`` still shows each point once, as MLflow's own server does."""
    db = Database(db_uri)
    service = TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:"))
    app = create_app(Settings.from_env({}), tracking=service, artifacts=LocalArtifactStore(tmp_path / "destination"))
    api = "/api/2.0/mlflow"
    with TestClient(app) as http:
        run_id = http.post(f"{api}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
        point = {"key": "acc", "value": 0.9, "timestamp": 1700000000000, "step": 0}
        assert http.post(f"{api}/runs/log-batch", json={"run_id": run_id, "metrics": [point]}).status_code == 200
        created = http.post(f"{api}/logged-models", json={"experiment_id": "0", "name": "m", "source_run_id": run_id})
        model_id = created.json()["model"]["info"]["model_id"]
        again = {**point, "model_id": model_id, "run_id": run_id}
        assert http.post(f"{api}/runs/log-batch", json={"run_id": run_id, "metrics": [again]}).status_code == 200
        history = http.get(f"{api}/metrics/get-history", params={"run_id": run_id, "metric_key": "acc"}).json()
        assert [(m["step"], m["value"], m["timestamp"]) for m in history["metrics"]] == [(0, 0.9, 1700000000000)]
        model = http.get(f"{api}/logged-models/{model_id}").json()["model"]
        assert [(m["key"], m["value"]) for m in model["data"]["metrics"]] == [("acc", 0.9)]
    db.dispose()
