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
