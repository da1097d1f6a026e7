"""The registry contract against the local service, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.db import Database
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore
from registry.contract import RegistryContract
from registry.contract_gates import GatesContract
from registry.contract_promotion import PromotionContract


@pytest.fixture
def db(db_uri: str) -> Iterator[Database]:
    database = Database(db_uri)
    yield database
    database.dispose()


@pytest.fixture
def tracking(db: Database, artifact_root: Path) -> TrackingService:
    return TrackingService(SqlTrackingStore(db, artifact_root=str(artifact_root)))


@pytest.fixture
def registry(db: Database, tracking: TrackingService) -> Any:
    return RegistryService(SqlRegistryStore(db), tracking=tracking)


class TestLocalService(RegistryContract, PromotionContract, GatesContract):
    pass


def test_promote_refuses_a_version_that_is_not_ready(db: Database, registry: RegistryService) -> None:

    from dockyard.core.errors import ModelVersionNotReady
    from dockyard.db import tables as t

    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://bucket/model")
    with db.write() as conn:
        conn.execute(t.model_versions.update().values(status="PENDING_REGISTRATION", status_message="uploading"))
    with pytest.raises(ModelVersionNotReady, match=r"PENDING_REGISTRATION.*uploading"):
        registry.promote("m", 1, alias="champion", stage="Production")
    assert registry.get_registered_model("m").aliases == {}
    assert registry.get_model_version("m", 1).current_stage.value == "None"
    assert list(registry.get_registry_events("m")) == []
