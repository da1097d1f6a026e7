"""HttpArtifactStore against the server's artifact proxy, in process (Starlette's TestClient)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dockyard.artifacts import LocalArtifactStore
from dockyard.artifacts.http import HttpArtifactStore, resolve_proxy_uri
from dockyard.core.config import Settings
from dockyard.core.errors import ArtifactNotFound, InvalidArtifactPath, InvalidParameter
from dockyard.db import Database
from dockyard.server.app import create_app
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore

ROOT = "http://testserver/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[HttpArtifactStore, Path]]:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    destination = tmp_path / "destination"
    app = create_app(
        Settings.from_env({}, cwd=tmp_path),
        tracking=TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:")),
        artifacts=LocalArtifactStore(destination),
    )
    with TestClient(app) as http:
        yield HttpArtifactStore(ROOT, http=http), destination / "1" / "run" / "artifacts"
    db.dispose()


def test_resolve_proxy_uri() -> None:
    assert (
        resolve_proxy_uri("mlflow-artifacts:/1/r", "https://h/p/")
        == "https://h/p/api/2.0/mlflow-artifacts/artifacts/1/r"
    )
    assert (
        resolve_proxy_uri("mlflow-artifacts://other:9/1/r", None)
        == "http://other:9/api/2.0/mlflow-artifacts/artifacts/1/r"
    )
    with pytest.raises(InvalidParameter, match="DOCKYARD_TRACKING_URI"):
        resolve_proxy_uri("mlflow-artifacts:/1/r", "sqlite:///x.db")


def test_write_list_read_download_delete(stores: tuple[HttpArtifactStore, Path], tmp_path: Path) -> None:
    store, on_disk = stores
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    store.log_dir(src, "data")
    store.log_file(src / "a.txt")
    store.write_bytes("notes/n.md", b"note")
    with store.open_write("big.bin") as fh:
        fh.write(b"x" * 3_000_000)
    assert (on_disk / "data" / "sub" / "b.txt").read_text() == "b"
    assert [f.path for f in store.list()] == ["a.txt", "big.bin", "data", "notes"]
    assert [(f.path, f.is_dir) for f in store.list("data")] == [("data/a.txt", False), ("data/sub", True)]
    assert store.list("a.txt") == []
    with store.open_read("big.bin") as fh:
        assert len(fh.read()) == 3_000_000
    out = Path(store.download("data", tmp_path / "dl"))
    assert (out / "sub" / "b.txt").read_text() == "b"
    assert Path(store.download("notes/n.md", tmp_path / "dl2")).read_bytes() == b"note"
    with pytest.raises(ArtifactNotFound):
        store.download("missing.txt", tmp_path / "dl3")
    store.delete("data")
    assert [f.path for f in store.list()] == ["a.txt", "big.bin", "notes"]


def test_paths_are_checked_before_any_request(stores: tuple[HttpArtifactStore, Path]) -> None:
    store, _ = stores
    with pytest.raises(InvalidArtifactPath):
        store.write_bytes("../escape.txt", b"x")
    with pytest.raises(InvalidArtifactPath):
        store.list("/etc")


def test_only_the_artifact_proxy_is_spoken() -> None:
    with pytest.raises(InvalidParameter, match="artifact proxy"):
        HttpArtifactStore("http://host/some/files")
