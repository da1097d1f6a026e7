"""Reproducibility context of a run: who ran what, from which source, with which packages.

:func:`capture_run_context` returns the tags a new run gets (MLflow's names where MLflow has one) and
the small artifacts logged with it (``dockyard/packages.txt`` and, on a dirty git tree,
``dockyard/git.diff``), each with a tag holding its digest (``sha256:<hex>``) so that ``dockyard runs
reproduce`` can tell when an artifact was changed after the run recorded it. Capturing runs git
subprocesses and reads every installed distribution, so it is done once per process: the first run
captures, later runs reuse the result.

>>> ctx = capture_run_context(["train.py", "--epochs", "3"])
>>> ctx.tags["mlflow.source.type"]
'LOCAL'
>>> ctx.tags["mlflow.source.name"].endswith("train.py")
True
>>> PACKAGES_ARTIFACT in ctx.artifacts
True
>>> ctx.tags[PACKAGES_DIGEST_TAG] == digest(ctx.artifacts[PACKAGES_ARTIFACT])
True
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass, field

from dockyard.core.identity import current_user

__all__ = [
    "DIFF_ARTIFACT",
    "DIFF_DIGEST_TAG",
    "PACKAGES_ARTIFACT",
    "PACKAGES_DIGEST_TAG",
    "RunContext",
    "capture_run_context",
    "clear_context_cache",
    "digest",
]

PACKAGES_ARTIFACT = "dockyard/packages.txt"
DIFF_ARTIFACT = "dockyard/git.diff"
# The digests of those two artifacts, as tags: the run's tags live in the tracking store, its artifacts
# possibly elsewhere (a bucket, the server's artifact proxy), so a change to an artifact alone shows.
PACKAGES_DIGEST_TAG = "dockyard.source.packages_digest"
DIFF_DIGEST_TAG = "dockyard.source.diff_digest"

CONSOLE = "<console>"
GIT_TIMEOUT_SECONDS = 5.0
# A diff bigger than this (a modified data file, say) is cut, with a note saying so.
MAX_DIFF_BYTES = 5 * 1024 * 1024
MAX_UNTRACKED_NAMES = 200

# argv[0] values that mean there is no script: ``python -c``, ``python -`` (stdin), the REPL, and the
# transient "-m" seen while ``python -m`` is still importing the module.
_NO_SCRIPT = frozenset({"", "-c", "-", "-m"})
_URL_USERINFO = re.compile(r"^(https?://)[^/@]*@", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RunContext:
    """Tags to set on a new run and artifacts to log with it (relative artifact path -> content)."""

    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)


def capture_run_context(argv: list[str] | None = None) -> RunContext:
    """The reproducibility context of this process (``argv`` defaults to ``sys.argv``).

    Tags: ``mlflow.user``, ``mlflow.source.name`` (absolute path of the entry-point script, or
    ``"<console>"`` for ``python -c`` and interactive use), ``mlflow.source.type`` (``"LOCAL"``),
    ``dockyard.source.command`` (the shell-quoted command line), ``dockyard.source.args`` (the
    arguments after the script, as a JSON list), ``dockyard.source.cwd`` (the working directory),
    ``dockyard.python.version``, ``dockyard.host``; inside a git work tree also
    ``mlflow.source.git.commit``, ``dockyard.source.git.root`` (the work tree's top folder),
    ``mlflow.source.git.branch`` (absent on a detached HEAD), ``mlflow.source.git.repoURL`` (the
    "origin" remote with any credentials removed, absent without one) and ``dockyard.source.git.dirty``
    (``"true"`` when tracked files differ from HEAD; untracked files alone do not count).

    Artifacts: ``dockyard/packages.txt`` (``name==version`` of every installed distribution, sorted by
    name) and, when the tree is dirty, ``dockyard/git.diff`` (``git diff HEAD`` preceded by ``#``
    comment lines naming the untracked files; ``git apply`` skips those lines). Each artifact's
    :func:`digest` is a tag: ``dockyard.source.packages_digest`` and ``dockyard.source.diff_digest``.

    Git is asked about the directory of the entry-point script (the current directory when there is
    none), with a 5 s timeout per command; when it is not installed, fails or times out, or the
    directory is not in a git work tree with a commit, the git tags and the diff are simply left out.

    The context is captured once per process, on the first call (normally the first run), and reused
    after that: the cache key is (script path, argv, current directory), so a change of directory or
    of argv captures anew. Each call returns fresh dicts, so callers may modify them.
    :func:`clear_context_cache` forgets everything (for tests).
    """
    args = list(sys.argv if argv is None else argv)
    script = _script_path(args)
    try:
        cwd = os.getcwd()
    except OSError:  # the current directory was deleted
        cwd = ""
    cached = _capture(script, cwd, tuple(args))
    return RunContext(tags=dict(cached.tags), artifacts=dict(cached.artifacts))


def clear_context_cache() -> None:
    """Forget every captured context and the package list, so the next call captures again."""
    _capture.cache_clear()
    _packages_txt.cache_clear()


def digest(content: bytes) -> str:
    """The digest the context tags record for an artifact: ``sha256:`` and the hex SHA-256 of ``content``.

    >>> digest(b"")
    'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _script_path(argv: list[str]) -> str:
    if not argv or argv[0] in _NO_SCRIPT:
        return CONSOLE
    return os.path.abspath(argv[0])


@functools.lru_cache(maxsize=16)
def _capture(script: str, cwd: str, argv: tuple[str, ...]) -> RunContext:
    tags = {
        "mlflow.user": current_user(),
        "mlflow.source.name": script,
        "mlflow.source.type": "LOCAL",
        "dockyard.source.command": shlex.join([sys.executable or "python", *argv]),
        "dockyard.source.args": json.dumps(list(argv[1:])),
        "dockyard.source.cwd": cwd,
        "dockyard.python.version": platform.python_version(),
        "dockyard.host": _host(),
    }
    artifacts = {PACKAGES_ARTIFACT: _packages_txt()}
    tags[PACKAGES_DIGEST_TAG] = digest(artifacts[PACKAGES_ARTIFACT])
    git_dir = cwd
    if script != CONSOLE and os.path.isdir(os.path.dirname(script)):
        git_dir = os.path.dirname(script)
    if git_dir:
        git_tags, diff = _git_info(git_dir)
        tags.update(git_tags)
        if diff is not None:
            artifacts[DIFF_ARTIFACT] = diff
            tags[DIFF_DIGEST_TAG] = digest(diff)
    return RunContext(tags=tags, artifacts=artifacts)


def _host() -> str:
    try:
        return socket.gethostname() or "unknown"
    except OSError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def _packages_txt() -> bytes:
    """``name==version`` lines of the installed distributions; the first found on sys.path wins."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        try:
            name, version = dist.name, dist.version
        except Exception:  # noqa: S112  a broken or half-installed distribution is left out of the list
            continue
        if not name or not version:
            continue
        found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), f"{name}=={version}")
    return "".join(f"{found[key]}\n" for key in sorted(found)).encode()


# -- git -------------------------------------------------------------------------------------------


def _git(args: list[str], cwd: str, env: dict[str, str]) -> bytes | None:
    """Stdout of ``git <args>`` run in ``cwd``, or None if git is missing, fails or times out."""
    try:
        proc = subprocess.run(  # noqa: S603  argv is git and the arguments this module builds, no shell
            ["git", *args],  # noqa: S607  the user's own git, found on PATH
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _git_info(directory: str) -> tuple[dict[str, str], bytes | None]:
    """(git tags, diff artifact or None) for ``directory``; ({}, None) when there is no git info."""
    try:
        return _git_info_unchecked(directory)
    except Exception:  # "no git info", never an exception: unexpected output must not fail a run
        return {}, None


def _git_info_unchecked(directory: str) -> tuple[dict[str, str], bytes | None]:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0")
    status = _git(["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal"], directory, env)
    if status is None:
        return {}, None
    commit = branch = None
    dirty = False
    untracked: list[bytes] = []
    records = iter(status.split(b"\0"))
    for record in records:
        if record.startswith(b"# branch.oid "):
            commit = record[len(b"# branch.oid ") :].decode("ascii", "replace")
        elif record.startswith(b"# branch.head "):
            branch = record[len(b"# branch.head ") :].decode("utf-8", "replace")
        elif record.startswith((b"1 ", b"u ")):
            dirty = True
        elif record.startswith(b"2 "):  # rename or copy: the next record is the original path
            dirty = True
            next(records, None)
        elif record.startswith(b"? "):
            untracked.append(record[2:])
    if not commit or commit == "(initial)":  # no commit yet: nothing to pin the source to
        return {}, None

    tags = {"mlflow.source.git.commit": commit, "dockyard.source.git.dirty": "true" if dirty else "false"}
    root = repo_root(directory)
    if root is not None:
        tags["dockyard.source.git.root"] = root
    if branch and branch != "(detached)":
        tags["mlflow.source.git.branch"] = branch
    remote = _git(["config", "--get", "remote.origin.url"], directory, env)
    if remote and remote.strip():
        tags["mlflow.source.git.repoURL"] = _without_credentials(remote.decode("utf-8", "replace").strip())

    if not dirty:
        return tags, None
    diff = _git(["diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv"], directory, env)
    if diff is None:
        return tags, None
    return tags, _diff_artifact(commit, diff, untracked)


def repo_root(directory: str) -> str | None:
    """The work tree holding ``directory``: the nearest ancestor with a ``.git`` entry (no subprocess)."""
    path = os.path.abspath(directory)
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _without_credentials(url: str) -> str:
    """Drop the user-info of an http(s) URL, where tokens go (``https://user:token@host/..``).

    ssh forms (``git@host:org/repo``, ``ssh://git@host/repo``) name only a login and are kept.
    """
    return _URL_USERINFO.sub(r"\1", url)


def _diff_artifact(commit: str, diff: bytes, untracked: list[bytes]) -> bytes:
    header = [f"# Uncommitted changes against {commit} (git diff HEAD).".encode()]
    if untracked:
        header.append(b"# Untracked files (their content is not included):")
        for name in untracked[:MAX_UNTRACKED_NAMES]:
            header.append(b"#   " + name.replace(b"\n", b"\\n"))
        if len(untracked) > MAX_UNTRACKED_NAMES:
            header.append(f"#   ... and {len(untracked) - MAX_UNTRACKED_NAMES} more".encode())
    if len(diff) > MAX_DIFF_BYTES:
        header.append(f"# The diff is {len(diff)} bytes; only the first {MAX_DIFF_BYTES} are kept.".encode())
        diff = diff[:MAX_DIFF_BYTES]
    return b"\n".join(header) + b"\n" + diff
