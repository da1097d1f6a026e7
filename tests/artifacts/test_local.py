from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dockyard.artifacts import LocalArtifactStore
from dockyard.artifacts.base import FileInfo
from dockyard.artifacts.local import path_from_file_uri
from dockyard.core.errors import ArtifactNotFound, InvalidArtifactPath, InvalidParameter

needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")


def make_store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "root")


def all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# -- construction ------------------------------------------------------------------------------


def test_root_from_plain_path_is_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = LocalArtifactStore("rel/root")
    assert store.root == tmp_path / "rel" / "root"
    assert store.root_uri == (tmp_path / "rel" / "root").as_uri()
    assert not store.root.exists()  # created lazily on first write


def test_root_from_file_uri_with_percent_encoding(tmp_path) -> None:
    target = tmp_path / "my runs" / "ä#1"
    store = LocalArtifactStore(target.as_uri())
    assert "%20" in store.root_uri
    assert store.root == target
    store.write_bytes("x.txt", b"1")
    assert (target / "x.txt").read_bytes() == b"1"


def test_root_from_pathlike(tmp_path) -> None:
    assert LocalArtifactStore(tmp_path).root == tmp_path


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///abs/path", "/abs/path"),
        ("file://localhost/abs/path", "/abs/path"),
        ("file:/abs/path", "/abs/path"),
        ("file:///a%20b/c%25d", "/a b/c%d"),
        ("file:///a%2Fb", "/a/b"),
        ("file:///x/%C3%A4", "/x/ä"),
        ("FILE:///x", "/x"),
        ("file:rel/dir", "rel/dir"),
    ],
)
@pytest.mark.skipif(os.name == "nt", reason="POSIX paths")
def test_path_from_file_uri(uri: str, expected: str) -> None:
    assert path_from_file_uri(uri) == expected


@pytest.mark.parametrize("uri", ["file://otherhost/x", "file:///a%00b", "file://", "file:", "s3://x"])
@pytest.mark.skipif(os.name == "nt", reason="POSIX semantics")
def test_path_from_file_uri_refuses(uri: str) -> None:
    with pytest.raises(InvalidParameter):
        path_from_file_uri(uri)


def test_encoded_dotdot_in_root_uri_is_just_a_root(tmp_path) -> None:
    # A root URI is configuration, not an artifact path: '..' there is normalised, not refused.
    store = LocalArtifactStore((tmp_path / "a").as_uri() + "/%2E%2E/b")
    assert store.root == tmp_path / "b"


# -- write_bytes -------------------------------------------------------------------------------


def test_write_bytes_creates_parents_and_overwrites(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("a/b/c.json", b'{"x": 1}')
    assert (store.root / "a" / "b" / "c.json").read_bytes() == b'{"x": 1}'
    store.write_bytes("a/b/c.json", b"second")
    assert (store.root / "a" / "b" / "c.json").read_bytes() == b"second"
    store.write_bytes("a\\b\\d.txt", b"")
    assert (store.root / "a" / "b" / "d.txt").read_bytes() == b""


def test_write_bytes_accepts_bytes_like(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("m.bin", bytearray(b"\x00\x01"))
    store.write_bytes("v.bin", memoryview(b"ab"))
    assert (store.root / "m.bin").read_bytes() == b"\x00\x01"
    assert (store.root / "v.bin").read_bytes() == b"ab"


@pytest.mark.parametrize("bad", ["", ".", "../x", "/abs", "C:\\x", "a/../b"])
def test_write_bytes_refuses_bad_paths(tmp_path, bad: str) -> None:
    store = make_store(tmp_path)
    with pytest.raises(InvalidArtifactPath, match="artifact_file"):
        store.write_bytes(bad, b"x")
    assert not (tmp_path / "x").exists()


def test_write_bytes_onto_directory_or_under_file_refused(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("d/f.txt", b"1")
    with pytest.raises(InvalidArtifactPath, match="directory"):
        store.write_bytes("d", b"x")
    with pytest.raises(InvalidArtifactPath, match="is a file"):
        store.write_bytes("d/f.txt/g.txt", b"x")
    assert all_files(store.root) == ["d", "d/f.txt"]


def test_file_permissions_follow_umask(tmp_path) -> None:
    if os.name == "nt":
        pytest.skip("POSIX permissions")
    store = make_store(tmp_path)
    old = os.umask(0o022)
    try:
        store.write_bytes("p.txt", b"x")
    finally:
        os.umask(old)
    assert (store.root / "p.txt").stat().st_mode & 0o777 == 0o644


# -- atomicity ---------------------------------------------------------------------------------


def test_atomic_write_leaves_no_temp_file(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("dir/a.txt", b"abc")
    src = tmp_path / "src.bin"
    src.write_bytes(b"z" * 3_000_000)
    store.log_file(src, "dir")
    assert all_files(store.root) == ["dir", "dir/a.txt", "dir/src.bin"]


def test_failed_write_keeps_old_content_and_no_temp(tmp_path, monkeypatch) -> None:
    store = make_store(tmp_path)
    store.write_bytes("model.bin", b"old")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.write_bytes("model.bin", b"new-but-never-complete")
    assert (store.root / "model.bin").read_bytes() == b"old"
    assert all_files(store.root) == ["model.bin"]


def test_crash_mid_copy_leaves_no_partial_artifact(tmp_path, monkeypatch) -> None:
    import shutil

    store = make_store(tmp_path)
    src = tmp_path / "big.bin"
    src.write_bytes(b"y" * 100)

    def half_copy(fsrc, fdst, length=0) -> None:  # type: ignore[no-untyped-def]
        fdst.write(fsrc.read(10))
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copyfileobj", half_copy)
    with pytest.raises(KeyboardInterrupt):
        store.log_file(src)
    assert all_files(store.root) == []


def test_leftover_temp_files_are_hidden(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("d/real.txt", b"1")
    (store.root / "d" / ".dockyard-tmp-0123abcd").write_bytes(b"partial")
    assert [f.path for f in store.list("d")] == ["d/real.txt"]
    out = store.download("d", tmp_path / "out")
    assert sorted(os.listdir(out)) == ["real.txt"]


# -- log_file / log_dir ------------------------------------------------------------------------


def test_log_file_root_and_nested(tmp_path) -> None:
    store = make_store(tmp_path)
    src = tmp_path / "model.pkl"
    src.write_bytes(b"weights")
    store.log_file(src)
    store.log_file(str(src), "models/v1")
    store.log_file(src, "./models//v2/")
    assert (store.root / "model.pkl").read_bytes() == b"weights"
    assert (store.root / "models" / "v1" / "model.pkl").read_bytes() == b"weights"
    assert (store.root / "models" / "v2" / "model.pkl").read_bytes() == b"weights"


def test_log_file_errors(tmp_path) -> None:
    store = make_store(tmp_path)
    with pytest.raises(InvalidParameter, match="local_file"):
        store.log_file(tmp_path / "missing.txt")
    with pytest.raises(InvalidParameter, match="local_file"):
        store.log_file(tmp_path)
    src = tmp_path / "f.txt"
    src.write_text("x")
    with pytest.raises(InvalidArtifactPath, match="artifact_path"):
        store.log_file(src, "../escape")
    with pytest.raises(InvalidArtifactPath):
        store.log_file(src, "/abs")
    assert not (tmp_path / "escape").exists()


def test_log_dir_copies_contents_recursively(tmp_path) -> None:
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "top.txt").write_text("top")
    (src / "sub" / "mid.txt").write_text("mid")
    (src / "sub" / "deeper" / "low.txt").write_text("low")
    store = make_store(tmp_path)
    store.log_dir(src)
    store.log_dir(src, "copy")
    expected = ["empty", "sub", "sub/deeper", "sub/deeper/low.txt", "sub/mid.txt", "top.txt"]
    assert all_files(store.root) == sorted(expected + ["copy"] + [f"copy/{p}" for p in expected])
    assert (store.root / "copy" / "sub" / "deeper" / "low.txt").read_text() == "low"


def test_log_dir_errors(tmp_path) -> None:
    store = make_store(tmp_path)
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InvalidParameter, match="local_dir"):
        store.log_dir(tmp_path / "f.txt")
    with pytest.raises(InvalidParameter, match="local_dir"):
        store.log_dir(tmp_path / "nope")
    with pytest.raises(InvalidArtifactPath):
        store.log_dir(tmp_path, "a/../../b")


@needs_symlinks
def test_log_dir_follows_symlinks_without_looping(tmp_path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f.txt").write_text("f")
    (src / "d" / "loop").symlink_to(src)  # a cycle back to the top
    (src / "alias").symlink_to(src / "d")
    (src / "broken").symlink_to(tmp_path / "gone")
    store = make_store(tmp_path)
    store.log_dir(src)
    assert (store.root / "d" / "f.txt").read_text() == "f"
    assert (store.root / "alias" / "f.txt").read_text() == "f"
    assert not (store.root / "broken").exists()
    assert not any(p.is_symlink() for p in store.root.rglob("*"))


# -- list --------------------------------------------------------------------------------------


def test_list_direct_children_sorted_relative_to_root(tmp_path) -> None:
    store = make_store(tmp_path)
    assert store.list() == []  # root not created yet
    store.write_bytes("plots/b.png", b"bb")
    store.write_bytes("plots/a.png", b"a")
    store.write_bytes("plots/sub/c.png", b"ccc")
    store.write_bytes("model.pkl", b"1234")
    assert store.list() == [FileInfo("model.pkl", False, 4), FileInfo("plots", True, None)]
    assert store.list(None) == store.list("") == store.list(".") == store.list()
    assert store.list("plots") == [
        FileInfo("plots/a.png", False, 1),
        FileInfo("plots/b.png", False, 2),
        FileInfo("plots/sub", True, None),
    ]
    assert store.list("plots/") == store.list("./plots") == store.list("plots")
    assert store.list("plots/sub") == [FileInfo("plots/sub/c.png", False, 3)]


def test_list_file_or_missing_is_empty(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("a.txt", b"x")
    assert store.list("a.txt") == []
    assert store.list("missing") == []
    assert store.list("missing/deeper") == []
    assert store.list("a.txt/under") == []


def test_list_refuses_bad_paths(tmp_path) -> None:
    store = make_store(tmp_path)
    for bad in ("..", "/etc", "a/../../b", "\\\\server\\share"):
        with pytest.raises(InvalidArtifactPath):
            store.list(bad)


# -- download ----------------------------------------------------------------------------------


def test_download_file_keeps_relative_path(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("plots/a.png", b"png")
    out = store.download("plots/a.png", tmp_path / "dst")
    assert out == str(tmp_path / "dst" / "plots" / "a.png")
    assert Path(out).read_bytes() == b"png"


def test_download_directory_tree(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("m/a.txt", b"a")
    store.write_bytes("m/sub/b.txt", b"b")
    (store.root / "m" / "emptydir").mkdir()
    out = store.download("m", str(tmp_path / "dst"))
    assert out == str(tmp_path / "dst" / "m")
    assert all_files(Path(out)) == ["a.txt", "emptydir", "sub", "sub/b.txt"]
    # downloading again overwrites in place
    store.write_bytes("m/a.txt", b"A2")
    store.download("m", tmp_path / "dst")
    assert (Path(out) / "a.txt").read_bytes() == b"A2"


def test_download_root(tmp_path) -> None:
    store = make_store(tmp_path)
    empty = store.download("", tmp_path / "empty")  # nothing logged yet
    assert os.listdir(empty) == []
    store.write_bytes("x/y.txt", b"y")
    out = store.download("", tmp_path / "all")
    assert out == str(tmp_path / "all")
    assert all_files(Path(out)) == ["x", "x/y.txt"]


def test_download_missing_names_the_path(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("a.txt", b"x")
    with pytest.raises(ArtifactNotFound, match=r"nope/missing\.bin"):
        store.download("nope/missing.bin", tmp_path / "dst")
    with pytest.raises(InvalidArtifactPath, match="path"):
        store.download("../a.txt", tmp_path / "dst")


# -- delete ------------------------------------------------------------------------------------


def test_delete_file_dir_and_everything(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("a.txt", b"a")
    store.write_bytes("d/b.txt", b"b")
    store.write_bytes("d/e/c.txt", b"c")
    store.write_bytes("keep/k.txt", b"k")
    store.delete("a.txt")
    assert [f.path for f in store.list()] == ["d", "keep"]
    store.delete("d")
    assert [f.path for f in store.list()] == ["keep"]
    store.delete("does/not/exist")  # idempotent
    store.delete()
    assert store.list() == []
    assert not store.root.exists()
    store.delete()  # nothing left: still fine
    store.write_bytes("again.txt", b"1")  # the root is recreated
    assert [f.path for f in store.list()] == ["again.txt"]


def test_delete_refuses_bad_paths(tmp_path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    store = LocalArtifactStore(tmp_path / "root")
    store.write_bytes("x", b"1")
    for bad in ("../outside.txt", "/" + str(outside).lstrip("/"), "x/../../outside.txt"):
        with pytest.raises(InvalidArtifactPath):
            store.delete(bad)
    assert outside.read_text() == "precious"


# -- symlink escapes ---------------------------------------------------------------------------


@pytest.fixture
def escaping_store(tmp_path):  # type: ignore[no-untyped-def]
    if sys.platform == "win32":
        pytest.skip("symlinks need privileges on Windows")
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    (secret_dir / "key.txt").write_text("s3cr3t")
    store = make_store(tmp_path)
    store.write_bytes("ok/inside.txt", b"fine")
    (store.root / "link_dir").symlink_to(secret_dir)
    (store.root / "link_file").symlink_to(secret_dir / "key.txt")
    (store.root / "ok" / "internal_link").symlink_to(store.root / "ok" / "inside.txt")
    return store, secret_dir


def test_symlink_escape_refused_when_named(escaping_store, tmp_path) -> None:
    store, _secret = escaping_store
    for path in ("link_dir", "link_file", "link_dir/key.txt"):
        with pytest.raises(InvalidArtifactPath, match="outside the artifact root"):
            store.download(path, tmp_path / "dst")
    with pytest.raises(InvalidArtifactPath, match="outside the artifact root"):
        store.list("link_dir")
    assert not (tmp_path / "dst").exists()


def test_symlink_escape_skipped_in_listing_and_tree_download(escaping_store, tmp_path) -> None:
    store, _secret = escaping_store
    assert [f.path for f in store.list()] == ["ok"]
    assert store.list("ok") == [FileInfo("ok/inside.txt", False, 4), FileInfo("ok/internal_link", False, 4)]
    out = Path(store.download("", tmp_path / "dst"))
    assert all_files(out) == ["ok", "ok/inside.txt", "ok/internal_link"]
    assert (out / "ok" / "internal_link").read_bytes() == b"fine"
    assert "s3cr3t" not in "".join(p.read_text() for p in out.rglob("*") if p.is_file())


def test_symlink_escape_refused_on_write(escaping_store) -> None:
    store, secret = escaping_store
    with pytest.raises(InvalidArtifactPath, match="outside the artifact root"):
        store.write_bytes("link_dir/planted.txt", b"x")
    with pytest.raises(InvalidArtifactPath, match="outside the artifact root"):
        store.write_bytes("link_file", b"overwrite")
    assert sorted(os.listdir(secret)) == ["key.txt"]
    assert (secret / "key.txt").read_text() == "s3cr3t"


def test_delete_symlink_removes_link_not_target(escaping_store) -> None:
    store, secret = escaping_store
    store.delete("link_file")
    store.delete("link_dir")
    with pytest.raises(InvalidArtifactPath):
        store.delete("link_dir_gone/../x")
    assert (secret / "key.txt").read_text() == "s3cr3t"
    assert [f.path for f in store.list()] == ["ok"]


def test_delete_through_escaping_parent_refused(escaping_store) -> None:
    store, secret = escaping_store
    with pytest.raises(InvalidArtifactPath, match="outside the artifact root"):
        store.delete("link_dir/key.txt")
    assert (secret / "key.txt").exists()


def test_symlink_loop_inside_root_does_not_hang(tmp_path) -> None:
    if sys.platform == "win32":
        pytest.skip("symlinks need privileges on Windows")
    store = make_store(tmp_path)
    store.write_bytes("a/f.txt", b"f")
    (store.root / "a" / "back").symlink_to(store.root / "a")
    (store.root / "self").symlink_to(store.root / "self")
    assert [f.path for f in store.list()] == ["a"]
    out = Path(store.download("a", tmp_path / "dst"))
    assert (out / "f.txt").read_bytes() == b"f"


# -- temporary files of killed writes ------------------------------------------------------------


def test_stale_temp_files_are_removed_and_fresh_ones_and_artifacts_kept(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("0/run/artifacts/model.pkl", b"model")
    directory = store.root / "0" / "run" / "artifacts"
    stale = directory / ".dockyard-tmp-00000000deadbeef"
    fresh = directory / ".dockyard-tmp-00000000cafebabe"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"an upload in progress")
    two_hours_ago = os.stat(stale).st_mtime - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    os.utime(directory / "model.pkl", (two_hours_ago, two_hours_ago))  # old, but not a temporary file

    assert store.remove_stale_temp_files(max_age=3600) == 1
    assert not stale.exists() and fresh.exists()
    assert (directory / "model.pkl").read_bytes() == b"model"
    assert LocalArtifactStore(tmp_path / "never-written").remove_stale_temp_files() == 0


def test_missing_artifact_messages_do_not_name_the_root(tmp_path) -> None:
    store = make_store(tmp_path)
    store.write_bytes("d/a.txt", b"x")
    with pytest.raises(ArtifactNotFound) as missing:
        store.open_read("d/b.txt")
    with pytest.raises(ArtifactNotFound) as gone:
        store.download("d/c.txt", tmp_path / "out")
    for error in (missing.value, gone.value):
        assert str(tmp_path) not in error.message and "file:" not in error.message
        assert "d/" in error.message
