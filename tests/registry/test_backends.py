"""open_registry: a local service for database URIs (sharing the tracking database), the HTTP client
for server URIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.core.config import Settings
from dockyard.core.errors import InvalidParameter
from dockyard.registry.backends import open_registry
from dockyard.registry.remote import RemoteRegistryService
from dockyard.registry.service import RegistryService
from dockyard.tracking.backends import open_tracking


def test_registry_on_the_tracking_store_shares_its_database(tmp_path: Path) -> None:
    settings = Settings.from_env({"DOCKYARD_TRACKING_URI": str(tmp_path / "store.db")})
    registry = open_registry(settings)
    tracking = open_tracking(settings)
    assert isinstance(registry, RegistryService)
    assert registry.store.db is tracking.store.db  # type: ignore[attr-defined]
    assert registry.tracking is tracking
    assert open_registry(settings) is registry
    run = tracking.create_run("0")
    registry.create_registered_model("m")
    version = registry.create_model_version("m", f"runs:/{run.info.run_id}/model")
    assert registry.get_model_version_download_uri("m", version.version) == f"{run.info.artifact_uri}/model"


def test_separate_registry_database(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DOCKYARD_TRACKING_URI": str(tmp_path / "runs.db"), "DOCKYARD_REGISTRY_URI": str(tmp_path / "models.db")}
    )
    registry = open_registry(settings)
    assert registry.tracking is None  # runs live elsewhere: sources are kept as given
    registry.create_registered_model("m")
    assert registry.create_model_version("m", "runs:/abc123/model").run_id == "abc123"
    assert (tmp_path / "models.db").exists()


def test_server_uri_gives_the_http_client() -> None:
    settings = Settings.from_env({"DOCKYARD_TRACKING_URI": "http://127.0.0.1:5999"})
    registry = open_registry(settings)
    assert isinstance(registry, RemoteRegistryService)
    assert registry.base_url == "http://127.0.0.1:5999"


def test_unsupported_scheme() -> None:
    settings = Settings.from_env({"DOCKYARD_REGISTRY_URI": "mysql://db/x"})
    with pytest.raises(InvalidParameter, match="unsupported scheme"):
        open_registry(settings)
