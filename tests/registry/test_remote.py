"""The registry contract against the remote client, talking to the in-process server app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.artifacts import LocalArtifactStore
from dockyard.core.config import Settings
from dockyard.db import Database
from dockyard.registry.remote import RemoteRegistryService
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore
from dockyard.server.app import create_app
from dockyard.tracking.remote import RemoteTrackingService
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore
from registry.contract import RegistryContract
from registry.contract_gates import GatesContract
from registry.contract_promotion import PromotionContract


@pytest.fixture
def http(db_uri: str, tmp_path: Path) -> Iterator[Any]:
    db = Database(db_uri)
    tracking = TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:"))
    registry = RegistryService(SqlRegistryStore(db), tracking=tracking, default_user=lambda: "unknown")
    app = create_app(
        Settings.from_env({}),
        tracking=tracking,
        artifacts=LocalArtifactStore(tmp_path / "destination"),
        registry=registry,
    )
    with TestClient(app) as client:
        yield client
    db.dispose()


@pytest.fixture
def tracking(http: Any) -> RemoteTrackingService:
    return RemoteTrackingService("http://testserver", http=http, retries=0)


@pytest.fixture
def registry(http: Any) -> RemoteRegistryService:
    return RemoteRegistryService("http://testserver", http=http, retries=0)


class TestRemoteService(RegistryContract, PromotionContract, GatesContract):
    pass


def test_promote_refuses_a_version_that_is_not_ready(db_uri: str, registry: RemoteRegistryService) -> None:
    from dockyard.core.errors import ModelVersionNotReady
    from dockyard.db import tables as t

    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://bucket/model")
    db = Database(db_uri)
    with db.write() as conn:
        conn.execute(t.model_versions.update().values(status="FAILED_REGISTRATION"))
    db.dispose()
    with pytest.raises(ModelVersionNotReady, match="FAILED_REGISTRATION") as info:
        registry.promote("m", 1, alias="champion")
    assert info.value.http_status == 400
    assert registry.get_registered_model("m").aliases == {}
