"""Model URIs that need a download: the content cache, against an S3-compatible server (moto); and the
check that a registered version's files are the ones it was registered with."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import dockyard
import dockyard.sklearn
from dockyard.core.errors import InvalidModel, ModelIntegrityError
from dockyard.models import load_model
from dockyard.models.digest import DIGEST_TAG, FILES_TAG

boto3 = pytest.importorskip("boto3")

X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from dockyard.artifacts import s3

    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    s3._reset_shared_client()
    name = f"models-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    yield name
    s3._reset_shared_client()


def _upload(tmp_path: Path, bucket: str, key: str, model: object) -> str:
    dockyard.sklearn.save_model(model, tmp_path / key)
    from dockyard.artifacts.registry import artifact_store_for_uri

    uri = f"s3://{bucket}/{key}"
    artifact_store_for_uri(uri).log_dir(tmp_path / key)
    return uri


def test_s3_model_is_downloaded_once_and_cached_by_content(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = LinearRegression().fit(X, [1.0, 2.0, 3.0])
    uri = _upload(tmp_path, bucket, "v1", model)
    from dockyard.artifacts.s3 import S3ArtifactStore

    downloads = []
    original = S3ArtifactStore.download

    def counting(self: S3ArtifactStore, path: str, dst_dir: object) -> str:
        downloads.append(path)
        return original(self, path, dst_dir)  # type: ignore[arg-type]

    monkeypatch.setattr(S3ArtifactStore, "download", counting)
    first, second = load_model(uri), load_model(uri)
    assert first.path == second.path and len(downloads) == 1
    assert first.path.is_relative_to(tmp_path / "model-cache")  # DOCKYARD_MODEL_CACHE from conftest
    np.testing.assert_allclose(second.predict(X), model.predict(X))

    # A different model under another key is another cache entry.
    other = _upload(tmp_path, bucket, "v2", LinearRegression().fit(X, [3.0, 2.0, 1.0]))
    assert load_model(other).path != first.path and len(downloads) == 2


def test_half_written_cache_entries_are_not_used(tmp_path: Path, bucket: str) -> None:
    uri = _upload(tmp_path, bucket, "m", LinearRegression().fit(X, [1.0, 2.0, 3.0]))
    path = load_model(uri).path
    (path / ".dockyard-complete").unlink()  # as if a download had died before finishing
    (path / "model.skops").unlink()
    again = load_model(uri)  # downloads again and replaces the broken entry
    assert again.path == path and (path / "model.skops").is_file() and (path / ".dockyard-complete").is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging directory left behind


def test_s3_prefix_without_a_model(bucket: str) -> None:
    with pytest.raises(InvalidModel, match="missing file MLmodel"):
        load_model(f"s3://{bucket}/nothing")


def test_dst_path_copies_a_local_model(tmp_path: Path) -> None:
    dockyard.sklearn.save_model(LinearRegression().fit(X, [1.0, 2.0, 3.0]), tmp_path / "m")
    dockyard.set_tracking_uri(str(tmp_path / "store.db"))
    from dockyard.lifecycle.resolution import fetch

    assert fetch(f"file://{tmp_path / 'm'}", tmp_path / "copy") == tmp_path / "copy" / "m"


# ---------------------------------------------------------------------- registered versions: the digest


def _registered(tmp_path: Path) -> tuple[Path, dockyard.Client]:
    """A model logged and registered as churn version 1 (champion) on a local store; its files' folder."""
    dockyard.set_tracking_uri(str(tmp_path / "store.db"))
    client = dockyard.Client(str(tmp_path / "store.db"))
    model = LinearRegression().fit(X, [1.0, 2.0, 3.0])
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(model, name="model", registered_model_name="churn")
    client.set_registered_model_alias("churn", "champion", 1)
    return Path(client.get_logged_model(info.model_id or "").artifact_location), client


def test_registration_records_the_digest_and_a_load_verifies_it(tmp_path: Path) -> None:
    files, client = _registered(tmp_path)
    tags = client.get_model_version("churn", 1).tags
    assert tags[DIGEST_TAG].startswith("sha256:") and "model.skops" in tags[FILES_TAG]
    np.testing.assert_allclose(load_model("models:/churn/1").predict(X), [1.0, 2.0, 3.0])
    assert load_model("models:/churn@champion").path == files  # a local model is used in place


@pytest.mark.parametrize("uri", ["models:/churn/1", "models:/churn@champion", "models:/churn/latest"])
def test_a_version_whose_files_changed_is_refused_naming_the_file(tmp_path: Path, uri: str) -> None:
    files, _client = _registered(tmp_path)
    with (files / "requirements.txt").open("a") as fh:
        fh.write("evil-package==6.6.6\n")
    with pytest.raises(
        ModelIntegrityError, match=r"models:/churn/1: requirements\.txt changed since it was registered"
    ):
        load_model(uri)
    with pytest.raises(ModelIntegrityError, match=r"requirements\.txt changed"):
        dockyard.sklearn.load_model(uri)


def test_an_added_file_is_refused_too(tmp_path: Path) -> None:
    files, _client = _registered(tmp_path)
    (files / "code").mkdir()
    (files / "code" / "sitecustomize.py").write_text("import os\n")
    with pytest.raises(ModelIntegrityError, match=r"code/sitecustomize\.py was added since it was registered"):
        load_model("models:/churn/1", dst_path=tmp_path / "copy")


def test_unregistered_uris_of_the_same_files_are_not_checked(tmp_path: Path) -> None:
    files, _client = _registered(tmp_path)
    with (files / "requirements.txt").open("a") as fh:
        fh.write("# edited by hand\n")
    assert load_model(files).path == files  # a path is what the caller chose: nothing was registered


def test_a_version_registered_before_digests_loads_unchecked(tmp_path: Path) -> None:
    files, client = _registered(tmp_path)
    from dockyard.registry.backends import open_registry

    store = open_registry(client.settings).store  # type: ignore[attr-defined]
    store.delete_model_version_tag("churn", 1, DIGEST_TAG)  # as an older Dockyard registered it
    store.delete_model_version_tag("churn", 1, FILES_TAG)
    with (files / "requirements.txt").open("a") as fh:
        fh.write("# edited\n")
    np.testing.assert_allclose(load_model("models:/churn/1").predict(X), [1.0, 2.0, 3.0])


def test_a_downloaded_version_is_verified(tmp_path: Path, bucket: str) -> None:
    """Registered from S3: the digest is read through the artifact store; the cached download is checked
    (its completion marker aside), and a changed file in the bucket is refused."""
    uri = _upload(tmp_path, bucket, "reg", LinearRegression().fit(X, [1.0, 2.0, 3.0]))
    dockyard.set_tracking_uri(str(tmp_path / "store.db"))
    assert dockyard.register_model(uri, "churn").version == 1
    assert DIGEST_TAG in dockyard.Client(str(tmp_path / "store.db")).get_model_version("churn", 1).tags
    path = load_model("models:/churn/1").path
    assert path.is_relative_to(tmp_path / "model-cache") and (path / ".dockyard-complete").is_file()
    assert load_model("models:/churn/1").path == path  # cached, and verified again
    from dockyard.artifacts.registry import artifact_store_for_uri

    artifact_store_for_uri(uri).write_bytes("requirements.txt", b"evil-package==6.6.6\n")
    with pytest.raises(ModelIntegrityError, match=r"requirements\.txt changed"):
        load_model("models:/churn/1")
