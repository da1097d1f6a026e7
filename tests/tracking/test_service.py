"""The tracking contract against the local service, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.db import Database
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore

from tracking.contract import TrackingContract


@pytest.fixture
def tracking(db_uri: str, artifact_root: Path) -> Iterator[Any]:
    db = Database(db_uri)
    yield TrackingService(SqlTrackingStore(db, artifact_root=str(artifact_root)))
    db.dispose()


class TestLocalService(TrackingContract):
    pass
