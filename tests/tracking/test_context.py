from __future__ import annotations

import getpass
import hashlib
import platform
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.tracking import context
from dockyard.tracking.context import (
    DIFF_ARTIFACT,
    DIFF_DIGEST_TAG,
    PACKAGES_ARTIFACT,
    PACKAGES_DIGEST_TAG,
    RunContext,
    capture_run_context,
    clear_context_cache,
    digest,
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

GIT_TAGS = (
    "mlflow.source.git.commit",
    "mlflow.source.git.branch",
    "mlflow.source.git.repoURL",
    "dockyard.source.git.dirty",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Fresh cache, and git that sees neither the user's config nor any repository above tmp_path."""
    clear_context_cache()
    home = tmp_path / "home"
    home.mkdir()
    (home / "gitconfig").write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(var, raising=False)
    yield
    clear_context_cache()


def git(repo: Path, *args: str) -> str:
    cmd = [
        "git",
        "-c", "user.name=Dockyard Test",
        "-c", "user.email=test@example.com",
        "-c", "commit.gpgsign=false",
        "-c", "init.defaultBranch=main",
        *args,
    ]  # fmt: skip
    return subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "train.py").write_text("print('train')\n")
    (root / "data.txt").write_text("old line\n")
    git(root, "add", "train.py", "data.txt")
    git(root, "commit", "-q", "-m", "initial")
    return root


def git_tags(ctx: RunContext) -> dict[str, str]:
    return {k: v for k, v in ctx.tags.items() if ".git." in k}


# -- git ---------------------------------------------------------------------------------------


@needs_git
def test_clean_repo(repo, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    ctx = capture_run_context([str(repo / "train.py"), "--lr", "0.1"])
    assert ctx.tags["mlflow.source.git.commit"] == git(repo, "rev-parse", "HEAD")
    assert ctx.tags["mlflow.source.git.branch"] == "main"
    assert ctx.tags["dockyard.source.git.dirty"] == "false"
    assert "mlflow.source.git.repoURL" not in ctx.tags  # no origin remote
    assert DIFF_ARTIFACT not in ctx.artifacts
    assert DIFF_DIGEST_TAG not in ctx.tags
    assert ctx.tags["mlflow.source.name"] == str(repo / "train.py")
    assert ctx.tags["mlflow.source.type"] == "LOCAL"


@needs_git
def test_dirty_repo_diff_artifact(repo, monkeypatch) -> None:
    (repo / "data.txt").write_text("new line\n")
    (repo / "notes.md").write_text("not committed\n")
    monkeypatch.chdir(repo)
    ctx = capture_run_context([str(repo / "train.py")])
    assert ctx.tags["dockyard.source.git.dirty"] == "true"
    diff = ctx.artifacts[DIFF_ARTIFACT].decode()
    assert "diff --git a/data.txt b/data.txt" in diff
    assert "-old line" in diff
    assert "+new line" in diff
    header = [line for line in diff.splitlines() if line.startswith("#")]
    assert any("notes.md" in line for line in header)
    assert "not committed" not in diff  # untracked names only, never content
    assert ctx.tags["mlflow.source.git.commit"] in header[0]


@needs_git
def test_each_artifact_has_its_sha256_digest_as_a_tag(repo, monkeypatch) -> None:
    (repo / "data.txt").write_text("new line\n")
    monkeypatch.chdir(repo)
    ctx = capture_run_context([str(repo / "train.py")])
    for artifact, tag in ((DIFF_ARTIFACT, DIFF_DIGEST_TAG), (PACKAGES_ARTIFACT, PACKAGES_DIGEST_TAG)):
        assert ctx.tags[tag] == "sha256:" + hashlib.sha256(ctx.artifacts[artifact]).hexdigest()
        assert ctx.tags[tag] == digest(ctx.artifacts[artifact])


def test_packages_digest_without_git(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    ctx = capture_run_context(["t.py"])
    assert ctx.tags[PACKAGES_DIGEST_TAG] == digest(ctx.artifacts[PACKAGES_ARTIFACT])
    assert DIFF_DIGEST_TAG not in ctx.tags


@needs_git
def test_diff_artifact_applies_with_git_apply(repo, monkeypatch, tmp_path) -> None:
    (repo / "data.txt").write_text("new line\n")
    (repo / "extra.txt").write_text("x\n")
    ctx = capture_run_context([str(repo / "train.py")])
    patch = tmp_path / "p.diff"
    patch.write_bytes(ctx.artifacts[DIFF_ARTIFACT])
    git(repo, "stash", "-q")
    git(repo, "apply", str(patch))
    assert (repo / "data.txt").read_text() == "new line\n"


@needs_git
def test_staged_change_is_dirty(repo) -> None:
    (repo / "data.txt").write_text("staged\n")
    git(repo, "add", "data.txt")
    ctx = capture_run_context([str(repo / "train.py")])
    assert ctx.tags["dockyard.source.git.dirty"] == "true"
    assert "+staged" in ctx.artifacts[DIFF_ARTIFACT].decode()


@needs_git
def test_rename_is_dirty(repo) -> None:
    git(repo, "mv", "data.txt", "renamed.txt")
    ctx = capture_run_context([str(repo / "train.py")])
    assert ctx.tags["dockyard.source.git.dirty"] == "true"


@needs_git
def test_untracked_files_alone_are_not_dirty(repo) -> None:
    (repo / "mlruns").mkdir()
    (repo / "mlruns" / "meta.yaml").write_text("x")
    ctx = capture_run_context([str(repo / "train.py")])
    assert ctx.tags["dockyard.source.git.dirty"] == "false"
    assert DIFF_ARTIFACT not in ctx.artifacts


@needs_git
def test_big_diff_is_truncated(repo, monkeypatch) -> None:
    monkeypatch.setattr(context, "MAX_DIFF_BYTES", 100)
    (repo / "data.txt").write_text("changed\n" * 1000)
    diff = capture_run_context([str(repo / "train.py")]).artifacts[DIFF_ARTIFACT]
    assert b"only the first 100 are kept" in diff
    assert len(diff) < 400


@needs_git
def test_remote_url_without_credentials(repo) -> None:
    git(repo, "remote", "add", "origin", "https://alice:s3cr3t-token@example.com/org/proj.git")
    ctx = capture_run_context([str(repo / "train.py")])
    assert ctx.tags["mlflow.source.git.repoURL"] == "https://example.com/org/proj.git"


@needs_git
def test_ssh_remote_url_kept(repo) -> None:
    git(repo, "remote", "add", "origin", "git@example.com:org/proj.git")
    ctx = capture_run_context([str(repo / "train.py")])
    assert ctx.tags["mlflow.source.git.repoURL"] == "git@example.com:org/proj.git"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://tok@github.com/o/r.git", "https://github.com/o/r.git"),
        ("HTTP://u:p@host:8080/r", "HTTP://host:8080/r"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("ssh://git@host/o/r.git", "ssh://git@host/o/r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
    ],
)
def test_without_credentials(url: str, expected: str) -> None:
    assert context._without_credentials(url) == expected


@needs_git
def test_detached_head_has_no_branch(repo) -> None:
    git(repo, "checkout", "-q", "--detach")
    ctx = capture_run_context([str(repo / "train.py")])
    assert "mlflow.source.git.branch" not in ctx.tags
    assert ctx.tags["mlflow.source.git.commit"] == git(repo, "rev-parse", "HEAD")


@needs_git
def test_repo_without_commits_has_no_git_info(tmp_path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    git(root, "init", "-q")
    (root / "train.py").write_text("")
    assert git_tags(capture_run_context([str(root / "train.py")])) == {}


@needs_git
def test_outside_repo_no_git_tags(tmp_path, monkeypatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "run.py").write_text("")
    monkeypatch.chdir(plain)
    ctx = capture_run_context([str(plain / "run.py")])
    assert git_tags(ctx) == {}
    assert DIFF_ARTIFACT not in ctx.artifacts
    assert list(ctx.artifacts) == [PACKAGES_ARTIFACT]


@needs_git
def test_git_is_asked_about_the_script_directory_not_cwd(repo, tmp_path, monkeypatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ctx = capture_run_context([str(repo / "train.py")])
    assert ctx.tags["mlflow.source.git.commit"] == git(repo, "rev-parse", "HEAD")


@needs_git
def test_relative_script_path_resolved_against_cwd(repo, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    ctx = capture_run_context(["train.py"])
    assert ctx.tags["mlflow.source.name"] == str(repo / "train.py")
    assert "mlflow.source.git.commit" in ctx.tags


@needs_git
@pytest.mark.parametrize("argv", [["-c"], [""], [], ["-"]])
def test_console_uses_cwd_for_git(repo, monkeypatch, argv: list[str]) -> None:
    monkeypatch.chdir(repo)
    ctx = capture_run_context(argv)
    assert ctx.tags["mlflow.source.name"] == "<console>"
    assert "mlflow.source.git.commit" in ctx.tags


def test_git_not_installed(repo_or_dir, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(repo_or_dir / "no-bin-here"))
    ctx = capture_run_context([str(repo_or_dir / "train.py")])
    assert git_tags(ctx) == {}
    assert "mlflow.user" in ctx.tags


@pytest.fixture
def repo_or_dir(tmp_path) -> Path:
    """A git repo when git exists (so that only its absence explains missing tags), else a directory."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text("")
    if shutil.which("git"):
        git(root, "init", "-q")
        git(root, "add", "train.py")
        git(root, "commit", "-q", "-m", "x")
    return root


def test_git_timeout_or_failure_means_no_git_info(repo_or_dir, monkeypatch) -> None:
    def timing_out(cmd, **kwargs):  # type: ignore[no-untyped-def]
        raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout", 0))

    monkeypatch.setattr(context.subprocess, "run", timing_out)
    assert git_tags(capture_run_context([str(repo_or_dir / "train.py")])) == {}


def test_unexpected_git_output_means_no_git_info(repo_or_dir, monkeypatch) -> None:
    def weird(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("surprise")

    monkeypatch.setattr(context, "_git_info_unchecked", weird)
    assert git_tags(capture_run_context([str(repo_or_dir / "train.py")])) == {}


@needs_git
def test_git_subprocess_arguments(repo, monkeypatch) -> None:
    calls: list[dict[str, object]] = []
    real_run = subprocess.run

    def spy(cmd, **kwargs):  # type: ignore[no-untyped-def]
        calls.append({"cmd": cmd, **kwargs})
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(context.subprocess, "run", spy)
    (repo / "data.txt").write_text("dirty\n")
    capture_run_context([str(repo / "train.py")])
    assert [c["cmd"][1] for c in calls] == ["status", "config", "diff"]  # type: ignore[index]
    for call in calls:
        assert call["timeout"] == 5
        assert call["stdin"] == subprocess.DEVNULL
        assert call["env"]["GIT_OPTIONAL_LOCKS"] == "0"  # type: ignore[index]
        assert call["cwd"] == str(repo)


# -- caching -----------------------------------------------------------------------------------


def test_captured_once_per_process(repo_or_dir, monkeypatch) -> None:
    calls = []
    real = context._git_info

    def counting(directory: str):  # type: ignore[no-untyped-def]
        calls.append(directory)
        return real(directory)

    monkeypatch.setattr(context, "_git_info", counting)
    monkeypatch.chdir(repo_or_dir)
    argv = [str(repo_or_dir / "train.py")]
    first = capture_run_context(argv)
    second = capture_run_context(argv)
    assert first == second
    assert len(calls) == 1
    # each call hands out its own dicts: changing one does not leak into the cache
    first.tags["mlflow.user"] = "mallory"
    first.artifacts.clear()
    third = capture_run_context(argv)
    assert third == second
    assert len(calls) == 1
    clear_context_cache()
    capture_run_context(argv)
    assert len(calls) == 2


def test_cache_keyed_by_cwd_and_argv(tmp_path, monkeypatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.chdir(a)
    assert capture_run_context(["x.py"]).tags["mlflow.source.name"] == str(a / "x.py")
    monkeypatch.chdir(b)
    assert capture_run_context(["x.py"]).tags["mlflow.source.name"] == str(b / "x.py")
    ctx = capture_run_context(["x.py", "--seed", "2"])
    assert ctx.tags["dockyard.source.command"].endswith("x.py --seed 2")


def test_default_argv_is_sys_argv(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["prog.py", "a b"])
    ctx = capture_run_context()
    assert ctx.tags["mlflow.source.name"] == str(tmp_path / "prog.py")
    assert ctx.tags["dockyard.source.command"] == shlex.join([sys.executable, "prog.py", "a b"])


def test_many_runs_are_cheap(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [str(tmp_path / "bench.py")]
    capture_run_context(argv)
    import time

    start = time.perf_counter()
    for _ in range(10_000):
        capture_run_context(argv)
    assert time.perf_counter() - start < 2.0


# -- the rest of the tags and the package list -------------------------------------------------


def test_user_host_python_and_command_tags(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [str(tmp_path / "train.py"), "--name", "it's a test"]
    ctx = capture_run_context(argv)
    assert ctx.tags["mlflow.user"] == getpass.getuser()
    assert ctx.tags["dockyard.host"] == socket.gethostname()
    assert ctx.tags["dockyard.python.version"] == platform.python_version()
    assert ctx.tags["dockyard.source.command"] == shlex.join([sys.executable, *argv])
    assert shlex.split(ctx.tags["dockyard.source.command"])[1:] == argv
    assert all(isinstance(v, str) for v in ctx.tags.values())


def test_user_falls_back_when_getuser_fails(tmp_path, monkeypatch) -> None:
    def no_user() -> str:
        raise KeyError("getpwuid(): uid not found: 12345")

    monkeypatch.setattr(getpass, "getuser", no_user)
    monkeypatch.chdir(tmp_path)
    assert capture_run_context(["t.py"]).tags["mlflow.user"] == "unknown"


def test_packages_txt(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    packages = capture_run_context(["t.py"]).artifacts[PACKAGES_ARTIFACT].decode()
    lines = packages.splitlines()
    assert any(line.startswith("pytest==") for line in lines)
    assert f"pytest=={pytest.__version__}" in lines
    assert all("==" in line for line in lines)
    assert lines == sorted(lines, key=lambda line: line.split("==")[0].lower().replace("_", "-"))
    assert len(lines) == len({line.split("==")[0].lower() for line in lines})
    assert packages.endswith("\n")


def test_run_context_is_frozen() -> None:
    ctx = RunContext(tags={"a": "b"})
    with pytest.raises(AttributeError):
        ctx.tags = {}  # type: ignore[misc]
    assert ctx.artifacts == {}
