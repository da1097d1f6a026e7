"""The digest a new model version records: read through the artifact store, proxied locations mapped."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dockyard.artifacts.registry import artifact_store_for_uri
from dockyard.core.errors import InvalidArtifactPath, InvalidParameter
from dockyard.db import Database, upgrade
from dockyard.models.digest import DIGEST_TAG, FILES_TAG, directory_files, manifest_digest
from dockyard.registry.digests import proxied_store_opener, stored_files, version_digest_tags
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore


@pytest.fixture
def destination(tmp_path: Path) -> Path:
    """A server's artifact destination holding one model at 1/models/m-1/artifacts."""
    model = tmp_path / "artifacts" / "1" / "models" / "m-1" / "artifacts"
    (model / "code").mkdir(parents=True)
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "code" / "helper.py").write_text("X = 1\n")
    return tmp_path / "artifacts"


def test_stored_files_match_the_local_digests(destination: Path) -> None:
    model = destination / "1" / "models" / "m-1" / "artifacts"
    assert stored_files(artifact_store_for_uri(str(model))) == directory_files(model)


def test_the_tags_of_a_model_directory(destination: Path) -> None:
    model = destination / "1" / "models" / "m-1" / "artifacts"
    tags = version_digest_tags(str(model))
    assert tags[DIGEST_TAG] == manifest_digest(directory_files(model))
    assert json.loads(tags[FILES_TAG]).keys() == {"MLmodel", "code/helper.py"}


def test_nothing_is_recorded_without_a_model_or_on_a_read_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert version_digest_tags(None) == {}
    assert version_digest_tags(str(tmp_path / "missing")) == {}
    with caplog.at_level(logging.WARNING, logger="dockyard.registry"):
        assert version_digest_tags("mlflow-artifacts:/1/x") == {}  # no server to resolve it against
    assert "it will load unchecked" in caplog.text


def test_a_proxying_server_maps_mlflow_artifacts_to_its_destination(destination: Path) -> None:
    opener = proxied_store_opener(str(destination))
    tags = version_digest_tags("mlflow-artifacts:/1/models/m-1/artifacts", opener)
    assert tags[DIGEST_TAG] == manifest_digest(directory_files(destination / "1" / "models" / "m-1" / "artifacts"))
    assert version_digest_tags(str(destination / "1" / "models" / "m-1" / "artifacts"), opener) == tags


def test_a_proxying_server_reads_nothing_outside_its_destination(destination: Path, tmp_path: Path) -> None:
    opener = proxied_store_opener(str(destination))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "MLmodel").write_text("flavors: {}\n")
    with pytest.raises(InvalidParameter, match="is not in this server's artifact store"):
        opener(str(outside))
    with pytest.raises(InvalidParameter, match="is not in this server's artifact store"):
        opener(f"{destination}/../elsewhere")
    with pytest.raises(InvalidArtifactPath, match=r"'\.\.' components are not allowed"):
        opener("mlflow-artifacts:/../elsewhere")
    assert version_digest_tags(str(outside), opener) == {}


def test_the_service_uses_the_opener_it_is_given(destination: Path) -> None:
    db = Database("sqlite://")
    try:
        upgrade(db)
        plain = RegistryService(SqlRegistryStore(db))
        plain.create_registered_model("m")
        source = "mlflow-artifacts:/1/models/m-1/artifacts"
        assert DIGEST_TAG not in plain.create_model_version("m", source).tags
        proxied = RegistryService(SqlRegistryStore(db), open_artifacts=proxied_store_opener(str(destination)))
        assert DIGEST_TAG in proxied.create_model_version("m", source).tags
    finally:
        db.dispose()
