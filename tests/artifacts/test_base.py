from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

import pytest

from dockyard.artifacts import ArtifactStore, LocalArtifactStore, artifact_store_for_uri, check_artifact_path
from dockyard.core.errors import InvalidArtifactPath, InvalidParameter


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        (".", ""),
        ("./", ""),
        ("a", "a"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a/./b", "a/b"),
        ("a//b/", "a/b"),
        ("./a/.", "a"),
        ("a\\b\\c.txt", "a/b/c.txt"),
        ("...", "..."),
        ("a/..b/c..", "a/..b/c.."),
        ("ts:12:00/c", "ts:12:00/c"),
        ("ünïcode/fïle", "ünïcode/fïle"),
        (PurePosixPath("x/y"), "x/y"),
    ],
)
def test_check_artifact_path_normalises(raw: object, expected: str) -> None:
    assert check_artifact_path(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("/etc/passwd", "absolute"),
        ("//server/share", "absolute"),
        ("\\\\server\\share\\x", "absolute"),
        ("\\\\?\\C:\\x", "absolute"),
        ("\\windows", "absolute"),
        ("C:\\Windows", "drive"),
        ("c:/Windows", "drive"),
        ("C:relative", "drive"),
        ("C:", "drive"),
        ("..", "'..'"),
        ("../x", "'..'"),
        ("a/..", "'..'"),
        ("a/../b", "'..'"),
        ("a/../../b", "'..'"),
        ("a/b/../../../etc", "'..'"),
        ("..\\x", "'..'"),
        ("a\\..\\..\\b", "'..'"),
        ("a/..\\../b", "'..'"),
        ("a\x00b", "NUL"),
    ],
)
def test_check_artifact_path_refuses(raw: str, reason: str) -> None:
    with pytest.raises(InvalidArtifactPath) as info:
        check_artifact_path(raw)
    message = str(info.value)
    assert message.startswith("artifact_path ")
    assert reason in message
    assert isinstance(info.value, InvalidParameter)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_check_artifact_path_names_the_given_field() -> None:
    with pytest.raises(InvalidArtifactPath, match=r"^artifact_file '/x'"):
        check_artifact_path("/x", field="artifact_file")


def test_check_artifact_path_refuses_non_strings() -> None:
    with pytest.raises(InvalidArtifactPath, match="must be a string"):
        check_artifact_path(123)  # type: ignore[arg-type]


def test_windows_pure_path_is_normalised() -> None:
    assert check_artifact_path(str(PureWindowsPath("a", "b", "c.txt"))) == "a/b/c.txt"


def test_local_store_satisfies_protocol(tmp_path) -> None:
    assert isinstance(LocalArtifactStore(tmp_path), ArtifactStore)


def test_factory_local_path_and_file_uri(tmp_path) -> None:
    by_path = artifact_store_for_uri(str(tmp_path / "runs"))
    by_uri = artifact_store_for_uri((tmp_path / "runs").as_uri())
    assert isinstance(by_path, LocalArtifactStore)
    assert isinstance(by_uri, LocalArtifactStore)
    assert by_path.root_uri == by_uri.root_uri == (tmp_path / "runs").as_uri()
    upper = artifact_store_for_uri("FILE://" + str(tmp_path / "runs"))
    assert upper.root_uri == by_path.root_uri


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("mlflow-artifacts:/0/abc/artifacts", "server"),  # needs an http(s) tracking URI to resolve against
        ("http://host:5000/x", "artifact proxy"),  # only a server's artifact proxy is spoken over HTTP
        ("https://host/x", "artifact proxy"),
    ],
)
def test_factory_server_schemes_need_a_server(uri: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message) as info:
        artifact_store_for_uri(uri)
    assert uri in str(info.value)


def test_factory_resolves_proxy_uris_against_the_tracking_server() -> None:
    store = artifact_store_for_uri("mlflow-artifacts:/0/abc/artifacts", tracking_uri="http://host:5000/prefix")
    assert store.root_uri == "http://host:5000/prefix/api/2.0/mlflow-artifacts/artifacts/0/abc/artifacts"
    with_host = artifact_store_for_uri("mlflow-artifacts://other:81/1/r/artifacts", tracking_uri="http://host:5000")
    assert with_host.root_uri == "http://other:81/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts"


def test_factory_unknown_scheme_and_empty() -> None:
    with pytest.raises(InvalidParameter, match="unsupported scheme 'gs'"):
        artifact_store_for_uri("gs://bucket/x")
    with pytest.raises(InvalidParameter, match="non-empty"):
        artifact_store_for_uri("")


def test_factory_registry_is_extensible(tmp_path, monkeypatch) -> None:
    from dockyard.artifacts import registry

    monkeypatch.setitem(registry.ARTIFACT_STORE_FACTORIES, "memtest", lambda uri: LocalArtifactStore(tmp_path))
    store = artifact_store_for_uri("memtest://anything")
    assert isinstance(store, LocalArtifactStore)
    assert store.root == tmp_path.resolve() or store.root == tmp_path


def test_register_artifact_store(tmp_path, monkeypatch) -> None:
    from dockyard.artifacts import registry

    monkeypatch.setattr(registry, "ARTIFACT_STORE_FACTORIES", dict(registry.ARTIFACT_STORE_FACTORIES))
    registry.register_artifact_store("Custom", lambda uri: LocalArtifactStore(tmp_path / "c"))
    assert artifact_store_for_uri("custom:x").root_uri == (tmp_path / "c").as_uri()


def test_uri_scheme() -> None:
    from dockyard.artifacts.registry import uri_scheme

    assert uri_scheme("/abs/path") == ""
    assert uri_scheme("rel/path") == ""
    assert uri_scheme("C:\\runs") == ""
    assert uri_scheme("file:///x") == "file"
    assert uri_scheme("mlflow-artifacts:/x") == "mlflow-artifacts"
