"""An in-process tracking server with auth on (SQLite, registry, artifact proxy) and its users."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from dockyard.artifacts import LocalArtifactStore
from dockyard.core.config import Settings
from dockyard.db import Database
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore
from dockyard.server.app import create_app
from dockyard.server.auth.entities import Permission
from dockyard.server.auth.service import AuthService
from dockyard.server.auth.store import SqlAuthStore
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore

PASSWORD = "s3cret-passw0rd"


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@dataclass
class AuthServer:
    http: TestClient
    auth: AuthService
    db: Database
    destination: Path

    def as_user(self, username: str) -> dict[str, str]:
        return basic(username)


def make_server(tmp_path: Path, default: Permission) -> Iterator[AuthServer]:
    db = Database(f"sqlite:///{tmp_path / 'auth.db'}")
    tracking = TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:"))
    registry = RegistryService(SqlRegistryStore(db), tracking=tracking, default_user=lambda: "unknown")
    # argon2's cheapest parameters: the tests make many users; the server uses the library's defaults.
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    auth = AuthService(SqlAuthStore(db), default_permission=default, password_hasher=cheap)
    auth.bootstrap_admin(PASSWORD)
    destination = tmp_path / "destination"
    settings = Settings.from_env({}, cwd=tmp_path)
    app = create_app(
        settings, tracking=tracking, registry=registry, artifacts=LocalArtifactStore(destination), auth=auth
    )
    with TestClient(app, raise_server_exceptions=False) as http:
        yield AuthServer(http, auth, db, destination)
    registry.close()
    db.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    """Default permission NO_PERMISSIONS: a user may do only what a grant allows."""
    yield from make_server(tmp_path, Permission.NO_PERMISSIONS)
