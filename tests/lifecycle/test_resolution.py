"""Model URIs that need a download: the content cache, against an S3-compatible server (moto)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import dockyard.sklearn
from dockyard.core.errors import InvalidModel
from dockyard.models import load_model

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
