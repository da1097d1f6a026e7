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


class TestLocalService(RegistryContract):
    pass
