"""S3ArtifactStore against moto's standalone S3-compatible server, over a real loopback socket."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from botocore.config import Config  # noqa: E402
from botocore.stub import Stubber  # noqa: E402

from dockyard.artifacts import s3 as s3_module  # noqa: E402
from dockyard.artifacts.base import ArtifactStore  # noqa: E402
from dockyard.artifacts.registry import artifact_store_for_uri  # noqa: E402
from dockyard.artifacts.s3 import S3ArtifactStore, parse_s3_uri  # noqa: E402
from dockyard.core.errors import (  # noqa: E402
    ArtifactNotFound,
    InvalidArtifactPath,
    InvalidParameter,
    MissingExtra,
    StoreUnavailable,
)

MB = 1024 * 1024
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)


@pytest.fixture
def bucket(s3_client: Any) -> str:
    name = f"dockyard-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def store(s3_client: Any, bucket: str) -> S3ArtifactStore:
    return S3ArtifactStore(f"s3://{bucket}/runs/1/artifacts", client=s3_client)


def keys(client: Any, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def infos(store: S3ArtifactStore, path: str | None = None) -> list[tuple[str, bool, int | None]]:
    return [(f.path, f.is_dir, f.file_size) for f in store.list(path)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(MB):
            digest.update(chunk)
    return digest.hexdigest()


def make_tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "top.txt").write_bytes(b"top")
    (root / "sub" / "mid.txt").write_bytes(b"middle")
    (root / "sub" / "deeper" / "leaf.bin").write_bytes(b"\x00\x01\x02")
    return root


# -- construction -------------------------------------------------------------------------------


def test_parse_uri_and_root_uri(s3_client: Any) -> None:
    assert parse_s3_uri("s3://b/runs//1/./x/") == ("b", "runs/1/x")
    assert parse_s3_uri("S3://b") == ("b", "")
    store = S3ArtifactStore("s3://b/p/q/", client=s3_client)
    assert (store.bucket, store.prefix, store.root_uri) == ("b", "p/q", "s3://b/p/q")
    assert S3ArtifactStore("s3://b", client=s3_client).root_uri == "s3://b"
    assert isinstance(store, ArtifactStore)
    for bad in ("s3://", "s3:///x", "gs://b/x", "s3://b/../x", "s3://b/a/../x"):
        with pytest.raises(InvalidParameter):
            S3ArtifactStore(bad, client=s3_client)


def test_missing_boto3_raises_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingExtra) as info:
        S3ArtifactStore("s3://b/p")
    assert (info.value.package, info.value.extra) == ("boto3", "s3")


def test_registry_builds_store_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_endpoint: str, bucket: str, s3_client: Any
) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setattr(s3_module, "_default_client", None)  # built afresh from this environment

    store = artifact_store_for_uri(f"s3://{bucket}/p")
    assert isinstance(store, S3ArtifactStore)
    assert store.root_uri == f"s3://{bucket}/p"
    other = artifact_store_for_uri(f"s3://{bucket}/q")
    assert isinstance(other, S3ArtifactStore)
    assert other._client is store._client  # one shared default client per process
    store.write_bytes("hello.txt", b"hi")  # really goes to the endpoint named by AWS_ENDPOINT_URL
    assert keys(s3_client, bucket) == ["p/hello.txt"]


# -- writes and list ----------------------------------------------------------------------------


def test_write_bytes_and_list_nested(store: S3ArtifactStore, s3_client: Any, bucket: str) -> None:
    store.write_bytes("b.txt", b"bee")
    store.write_bytes("a/x.txt", b"12345")
    store.write_bytes("a/deep/y.txt", b"")
    store.write_bytes("plots\\win.png", b"png")  # backslashes are separators
    assert keys(s3_client, bucket) == [
        "runs/1/artifacts/a/deep/y.txt",
        "runs/1/artifacts/a/x.txt",
        "runs/1/artifacts/b.txt",
        "runs/1/artifacts/plots/win.png",
    ]
    assert infos(store) == [("a", True, None), ("b.txt", False, 3), ("plots", True, None)]
    assert infos(store, "a") == [("a/deep", True, None), ("a/x.txt", False, 5)]
    assert infos(store, "a/") == infos(store, "./a")
    assert infos(store, "a/deep") == [("a/deep/y.txt", False, 0)]
    assert store.list("b.txt") == []  # a file
    assert store.list("missing") == []
    assert store.list("a/x") == []  # a key prefix that is not a directory


def test_list_ignores_siblings_of_the_prefix(store: S3ArtifactStore, s3_client: Any, bucket: str) -> None:
    s3_client.put_object(Bucket=bucket, Key="runs/1/artifactsX/other.txt", Body=b"x")
    s3_client.put_object(Bucket=bucket, Key="runs/1/artifacts2", Body=b"x")
    s3_client.put_object(Bucket=bucket, Key="runs/1/artifacts/folder/", Body=b"")  # a console "folder"
    store.write_bytes("mine.txt", b"m")
    assert infos(store) == [("folder", True, None), ("mine.txt", False, 1)]
    assert store.list("folder") == []


class SmallPages:
    """A client whose list_objects_v2 paginator asks for pages of 3 keys; the rest goes to ``client``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_paginator(self, name: str) -> Any:
        paginator = self._client.get_paginator(name)

        class Paginator:
            def paginate(self, **kwargs: Any) -> Any:
                return paginator.paginate(**kwargs, PaginationConfig={"PageSize": 3})

        return Paginator()


def test_list_and_delete_paginate(store: S3ArtifactStore, s3_client: Any, bucket: str) -> None:
    calls: list[dict[str, Any]] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        calls.append(params)

    for i in range(7):
        store.write_bytes(f"many/f{i}.txt", b"x")
        store.write_bytes(f"many/d{i}/g.txt", b"y")
    small = S3ArtifactStore(store.root_uri, client=SmallPages(s3_client))
    s3_client.meta.events.register("before-parameter-build.s3.ListObjectsV2", count)
    try:
        listed = infos(small, "many")
        assert len(calls) >= 5  # 14 entries in pages of 3
        calls.clear()
        small.delete("many")
        assert len(calls) >= 5
    finally:
        s3_client.meta.events.unregister("before-parameter-build.s3.ListObjectsV2", count)
    assert listed == sorted(
        [(f"many/f{i}.txt", False, 1) for i in range(7)] + [(f"many/d{i}", True, None) for i in range(7)]
    )
    assert keys(s3_client, bucket) == []


def test_log_file_and_log_dir(store: S3ArtifactStore, tmp_path: Path, s3_client: Any, bucket: str) -> None:
    src = make_tree(tmp_path / "src")
    store.log_file(src / "top.txt")
    store.log_file(src / "top.txt", "copies/one")
    store.log_dir(src, "tree")
    store.log_dir(src / "sub")
    assert keys(s3_client, bucket) == [
        f"runs/1/artifacts/{k}"
        for k in [
            "copies/one/top.txt",
            "deeper/leaf.bin",
            "mid.txt",
            "top.txt",
            "tree/sub/deeper/leaf.bin",
            "tree/sub/mid.txt",
            "tree/top.txt",
        ]
    ]
    assert infos(store, "tree/sub") == [("tree/sub/deeper", True, None), ("tree/sub/mid.txt", False, 6)]
    with pytest.raises(InvalidParameter, match="local_file"):
        store.log_file(tmp_path / "nope.txt")
    with pytest.raises(InvalidParameter, match="local_dir"):
        store.log_dir(src / "top.txt")


def test_log_dir_follows_symlinks_without_looping(store: S3ArtifactStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    (src / "sub" / "loop").symlink_to(src, target_is_directory=True)
    store.log_dir(src)
    listed = {f.path for f in store.list()}
    assert listed == {"sub", "top.txt"}
    assert {f.path for f in store.list("sub")} == {"sub/deeper", "sub/mid.txt"}


def test_log_file_multipart(store: S3ArtifactStore, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * MB))  # above boto3's 8 MB multipart threshold
    store.log_file(big, "models")
    assert infos(store, "models") == [("models/big.bin", False, 12 * MB)]
    out = store.download("models/big.bin", tmp_path / "out")
    assert sha256_of(Path(out)) == sha256_of(big)


# -- download -----------------------------------------------------------------------------------


def test_download_file_keeps_relative_path(store: S3ArtifactStore, tmp_path: Path) -> None:
    store.write_bytes("plots/a.png", b"image")
    out = store.download("plots/a.png", tmp_path / "dst")
    assert out == os.fspath(tmp_path / "dst" / "plots" / "a.png")
    assert Path(out).read_bytes() == b"image"


def test_download_directory_and_root(store: S3ArtifactStore, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    store.log_dir(tmp_path / "src", "model")
    store.write_bytes("other.txt", b"o")

    out = store.download("model/sub", tmp_path / "one")
    assert out == os.fspath(tmp_path / "one" / "model" / "sub")
    assert (Path(out) / "mid.txt").read_bytes() == b"middle"
    assert (Path(out) / "deeper" / "leaf.bin").read_bytes() == b"\x00\x01\x02"
    assert not (tmp_path / "one" / "model" / "top.txt").exists()

    out = store.download("", tmp_path / "all")
    assert out == os.fspath(tmp_path / "all")
    found = sorted(p.relative_to(tmp_path / "all").as_posix() for p in (tmp_path / "all").rglob("*") if p.is_file())
    assert found == ["model/sub/deeper/leaf.bin", "model/sub/mid.txt", "model/top.txt", "other.txt"]


def test_download_empty_root_and_missing(s3_client: Any, bucket: str, tmp_path: Path) -> None:
    store = S3ArtifactStore(f"s3://{bucket}/nothing/here", client=s3_client)
    assert store.download("", tmp_path / "empty") == os.fspath(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []
    with pytest.raises(ArtifactNotFound, match=r"'no/such\.txt'"):
        store.download("no/such.txt", tmp_path / "x")


def test_download_skips_keys_that_would_escape(
    store: S3ArtifactStore, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    s3_client.put_object(Bucket=bucket, Key="runs/1/artifacts/d/../../../escaped.txt", Body=b"evil")
    s3_client.put_object(Bucket=bucket, Key="runs/1/artifacts/d/ok.txt", Body=b"ok")
    dst = tmp_path / "deep" / "dst"
    store.download("d", dst)
    assert (dst / "d" / "ok.txt").read_bytes() == b"ok"
    assert not (tmp_path / "escaped.txt").exists()  # where dst/d/../../../escaped.txt would land
    assert [p.name for p in tmp_path.rglob("escaped.txt")] == []


# -- delete -------------------------------------------------------------------------------------


def test_delete_file_prefix_and_root(store: S3ArtifactStore, s3_client: Any, bucket: str) -> None:
    s3_client.put_object(Bucket=bucket, Key="runs/1/artifactsX/keep.txt", Body=b"k")
    for name in ("a", "ab", "a/x.txt", "a/deep/y.txt", "b/z.txt", "c.txt"):
        store.write_bytes(name, b"data")
    store.delete("c.txt")
    assert [f.path for f in store.list()] == ["a", "ab", "b"]
    store.delete("a")  # the key "a" and everything under "a/", but not "ab"
    assert [f.path for f in store.list()] == ["ab", "b"]
    store.delete("missing/thing")  # a no-op
    store.delete()
    assert keys(s3_client, bucket) == ["runs/1/artifactsX/keep.txt"]


def test_delete_batches(store: S3ArtifactStore, s3_client: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "_DELETE_BATCH", 3)
    batches: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        batches.append(len(params["Delete"]["Objects"]))

    for i in range(8):
        store.write_bytes(f"many/f{i}.txt", b"x")
    s3_client.meta.events.register("before-parameter-build.s3.DeleteObjects", count)
    try:
        store.delete("many")
    finally:
        s3_client.meta.events.unregister("before-parameter-build.s3.DeleteObjects", count)
    assert batches == [3, 3, 3]  # the key "many" itself plus 8 under "many/"
    assert keys(s3_client, bucket) == []


# -- streaming ----------------------------------------------------------------------------------


def test_open_read_streams_a_multi_mb_file(store: S3ArtifactStore, tmp_path: Path) -> None:
    payload = b"header line\n" + os.urandom(6 * MB)
    store.write_bytes("data/blob.bin", payload)
    digest = hashlib.sha256()
    with store.open_read("data/blob.bin") as fh:
        assert fh.readline() == b"header line\n"
        digest.update(b"header line\n")
        while chunk := fh.read(256 * 1024):
            assert len(chunk) <= 256 * 1024
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()
    assert fh.closed


def test_open_read_missing(store: S3ArtifactStore) -> None:
    store.write_bytes("dir/file.txt", b"x")
    with pytest.raises(ArtifactNotFound, match=r"'nope\.txt'"):
        store.open_read("nope.txt")
    with pytest.raises(ArtifactNotFound):
        store.open_read("dir")  # a directory is not a file
    with pytest.raises(ArtifactNotFound):
        store.open_read("")


def test_open_write_20_mb(store: S3ArtifactStore, tmp_path: Path) -> None:
    digest = hashlib.sha256()
    with store.open_write("models/weights.bin") as fh:
        for _ in range(20):
            chunk = os.urandom(MB)
            digest.update(chunk)
            fh.write(chunk)
        assert store.list("models") == []  # nothing visible before the block ends
    assert infos(store, "models") == [("models/weights.bin", False, 20 * MB)]
    out = store.download("models/weights.bin", tmp_path / "dl")
    assert sha256_of(Path(out)) == digest.hexdigest()


def test_open_write_uploads_nothing_on_error(store: S3ArtifactStore, s3_client: Any, bucket: str) -> None:
    def write_then_fail(fh: Any) -> None:
        fh.write(b"x" * MB)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"), store.open_write("partial.bin") as fh:
        write_then_fail(fh)
    assert keys(s3_client, bucket) == []


# -- errors -------------------------------------------------------------------------------------


def test_missing_bucket(s3_client: Any, tmp_path: Path) -> None:
    name = f"dockyard-missing-{uuid.uuid4().hex[:8]}"
    store = S3ArtifactStore(f"s3://{name}/p", client=s3_client)
    (tmp_path / "f.txt").write_bytes(b"f")
    attempts = [
        lambda: store.list(),
        lambda: store.write_bytes("x.txt", b"x"),
        lambda: store.open_read("x.txt"),
        lambda: store.download("x.txt", tmp_path / "dst"),
        lambda: store.delete("x"),
        lambda: store.log_file(tmp_path / "f.txt"),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidParameter, match=f"{name}.*does not exist"):
            attempt()
    with pytest.raises(InvalidParameter, match=name), store.open_write("w.txt") as fh:
        fh.write(b"w")


def test_access_denied_names_bucket(s3_endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)
    store = S3ArtifactStore("s3://locked/p", client=client)
    with Stubber(client) as stub:
        stub.add_client_error("get_object", "AccessDenied", "Access Denied", http_status_code=403)
        stub.add_client_error("list_objects_v2", "SlowDown", "Please reduce", http_status_code=503)
        with pytest.raises(InvalidParameter, match=r"'locked'.*access denied \(AccessDenied: Access Denied\)"):
            store.open_read("x")
        with pytest.raises(StoreUnavailable, match="SlowDown"):
            store.list()


def test_unreachable_endpoint_is_store_unavailable() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
        **CREDENTIALS,
    )
    store = S3ArtifactStore("s3://b/p", client=client)
    with pytest.raises(StoreUnavailable, match="unreachable"):
        store.list()
    with pytest.raises(StoreUnavailable):
        store.write_bytes("a.txt", b"a")
    with pytest.raises(StoreUnavailable):
        store.open_read("a.txt")


@pytest.mark.parametrize("bad", ["../x", "a/../b", "/abs", "C:\\x", "\\\\server\\share", "a\x00b"])
def test_paths_are_refused(store: S3ArtifactStore, tmp_path: Path, s3_client: Any, bucket: str, bad: str) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    attempts = [
        lambda: store.write_bytes(bad, b"x"),
        lambda: store.log_file(tmp_path / "f.txt", bad),
        lambda: store.log_dir(tmp_path, bad),
        lambda: store.list(bad),
        lambda: store.download(bad, tmp_path / "dst"),
        lambda: store.delete(bad),
        lambda: store.open_read(bad),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidArtifactPath):
            attempt()
    with pytest.raises(InvalidArtifactPath), store.open_write(bad):
        pass
    with pytest.raises(InvalidArtifactPath):
        store.write_bytes("", b"x")
    assert keys(s3_client, bucket) == []
