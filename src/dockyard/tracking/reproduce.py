"""Re-run a run's script at its recorded commit and compare the metrics: ``dockyard runs reproduce``.

A run started by a script records what is needed (see :mod:`dockyard.tracking.context`): the script
(``mlflow.source.name``), its arguments (``dockyard.source.args``), the working directory, the git
commit and work tree, the uncommitted diff (``dockyard/git.diff``) and the installed packages
(``dockyard/packages.txt``), with a digest of each artifact. :func:`reproduce`:

1. prepares (:func:`prepare`): checks that the recorded commit is a git object name and resolves it in
   the work tree; downloads the diff and, for ``env_manager="virtualenv"``, the package list, and
   checks each against the digest the run recorded (a run recorded before digests existed is used with
   a warning); refuses a package list that is anything but plain requirements (no pip options, no index
   or URL, no path, no include);
2. prints the plan (what is checked out, applied, installed and run), then checks the commit out in a
   temporary ``git worktree`` (detached) and applies the diff;
3. picks the interpreter: this one (``env_manager="local"``) or a fresh virtual environment with the
   recorded packages (``"virtualenv"``);
4. creates the new run (tag ``dockyard.reproduced_from`` = the original's id) and runs the worktree's
   copy of the script from the run's own working directory (the recorded ``dockyard.source.cwd``), with
   ``DOCKYARD_RUN_ID`` set, so the script's first ``start_run()`` logs into it and finds the files git
   does not track (``data/``, ``.env``) where the original found them;
5. records the original's source in the new run (script path, work tree, commit, the diff applied), not
   the temporary worktree's, so a reproduced run can be reproduced in turn; compares the new run's
   metrics with the original's; the worktree is removed at the end.

:func:`preview` does the first step alone (``dockyard runs reproduce --dry-run``).

**How params reach the script.** ``params_as="args"`` (default) passes the original command-line
arguments again, so a script that takes its params as options (``train.py --lr 0.1``) gets the same
values. ``params_as="options"`` passes every recorded param as ``--KEY VALUE`` instead (argparse
style), for runs whose arguments were not recorded or that logged params they were not given.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import InvalidParameter, ReproductionFailed
from dockyard.tracking.context import (
    CONSOLE,
    DIFF_ARTIFACT,
    DIFF_DIGEST_TAG,
    PACKAGES_ARTIFACT,
    PACKAGES_DIGEST_TAG,
    digest,
    repo_root,
)
from dockyard.tracking.entities import Run, RunStatus, RunTag

if TYPE_CHECKING:
    from dockyard.tracking.client import TrackingClient

REPRODUCED_FROM_TAG = "dockyard.reproduced_from"
ENV_MANAGERS = ("local", "virtualenv")
PARAMS_AS = ("args", "options")
GIT_TIMEOUT = 120.0

# A git object name: 40 (SHA-1) or 64 (SHA-256) hex digits, or an abbreviation of at least 7 (git's
# default length). Anything else (a value starting with "-" would be an option) never reaches git.
_OBJECT_NAME = re.compile(r"[0-9a-fA-F]{7,64}")

# What a line of a recorded requirements file may be: a name, extras, version specifiers and an
# environment marker. No "/", ":", "@", "$" or "\\", so no URL, path, direct reference, environment
# variable or line continuation; a token starting with "-" (a pip option) is refused separately.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_SPECIFIER = r"(?:===|==|!=|~=|>=|<=|>|<)\s*[A-Za-z0-9.*+!_-]+"
_REQUIREMENT = re.compile(
    rf"(?P<name>{_NAME})"
    rf"(?:\s*\[\s*{_NAME}(?:\s*,\s*{_NAME})*\s*\])?"
    rf"(?:\s*{_SPECIFIER}(?:\s*,\s*{_SPECIFIER})*)?"
    r"(?:\s*;[A-Za-z0-9_.'\"<>=!~() -]+)?"
)
# pip's own comment rule: "#" at the start of a line or after whitespace starts a comment.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links", "--trusted-host")
_INCLUDE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
_EDITABLE_OPTIONS = ("-e", "--editable")


@dataclass(frozen=True)
class Plan:
    """What to run, taken from the original run's tags."""

    run: Run
    repo: str  # the git work tree (absolute)
    commit: str  # as recorded: 7 to 64 hex digits
    script: str  # relative to the work tree's root
    cwd: str  # absolute: the directory the script runs from, as the original did
    args: list[str]
    dirty: bool

    @property
    def source(self) -> str:
        """The script's path in the work tree (what the original run recorded as its source)."""
        return os.path.join(self.repo, self.script)


@dataclass(frozen=True)
class Artifact:
    """A context artifact of the run, read and checked against the digest the run recorded."""

    path: str  # the artifact's path in the run (``dockyard/git.diff``)
    content: bytes
    digest: str  # of ``content``
    verified: bool  # False: the run recorded no digest (it predates them), so nothing was checked


@dataclass(frozen=True)
class Preparation:
    """Everything :func:`reproduce` will do, checked before it does any of it."""

    plan: Plan
    commit: str  # the full object name the recorded commit resolves to in the work tree
    env_manager: str
    diff: Artifact | None  # applied to the worktree; None when the run's tree was clean
    packages: Artifact | None  # installed (virtualenv only)
    requirements: list[str]  # the lines pip installs from ``packages`` (virtualenv only)
    dockyard_spec: str | None  # how Dockyard itself is installed (virtualenv only)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        """The plan as lines for a person to read before it runs."""
        todo = self.plan
        lines = [
            f"Plan for reproducing run {todo.run.info.run_id}:",
            f"  check out  commit {self.commit} of {todo.repo} (in a temporary git worktree)",
        ]
        if self.diff is None:
            lines.append("  apply      nothing (the run recorded no uncommitted changes)")
        else:
            lines.append(f"  apply      {self.diff.path} ({_checked(self.diff)}):")
            files = _diff_files(self.diff.content)
            lines.extend(f"               {path} +{added} -{removed}" for path, added, removed in files)
            if not files:
                lines.append("               (no file changes)")
        if self.packages is None:
            lines.append(f"  python     {sys.executable} (this environment; nothing is installed)")
        else:
            lines.append(
                f"  install    into a new virtual environment, {len(self.requirements)} packages from "
                f"{self.packages.path} ({_checked(self.packages)}):"
            )
            wrapped = textwrap.wrap(", ".join(self.requirements), width=100, break_on_hyphens=False)
            lines.extend(f"               {part}" for part in wrapped)
            lines.append(f"             and Dockyard from {self.dockyard_spec} (without dependencies)")
        lines.append(f"  run        python <worktree>/{shlex.join([todo.script, *todo.args])}")
        lines.append(f"  from       {todo.cwd} (the run's working directory)")
        return lines

    def to_dict(self) -> dict[str, object]:
        todo = self.plan
        diff: dict[str, object] | None = None
        if self.diff is not None:
            diff = {
                **_artifact_dict(self.diff),
                "files": [{"path": p, "added": a, "removed": r} for p, a, r in _diff_files(self.diff.content)],
            }
        packages: dict[str, object] | None = None
        if self.packages is not None:
            packages = {
                **_artifact_dict(self.packages),
                "requirements": self.requirements,
                "dockyard": self.dockyard_spec,
            }
        return {
            "original_run_id": todo.run.info.run_id,
            "repository": todo.repo,
            "commit": self.commit,
            "script": todo.script,
            "args": todo.args,
            "cwd": todo.cwd,
            "env_manager": self.env_manager,
            "python": sys.executable if self.env_manager == "local" else None,
            "diff": diff,
            "packages": packages,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class MetricDiff:
    key: str
    original: float | None
    reproduced: float | None

    @property
    def difference(self) -> float | None:
        if self.original is None or self.reproduced is None:
            return None
        return self.reproduced - self.original

    @property
    def relative_difference(self) -> float | None:
        diff = self.difference
        if diff is None or self.original is None:
            return None
        if self.original == 0:
            return 0.0 if diff == 0 else None
        return diff / abs(self.original)


@dataclass
class Result:
    original_run_id: str
    run_id: str
    commit: str
    returncode: int
    metrics: list[MetricDiff] = field(default_factory=list)


def plan(run: Run, params_as: str = "args", *, cwd: str | None = None) -> Plan:
    """The re-run a run describes, or :class:`InvalidParameter` saying what it lacks.

    The script runs from the run's recorded working directory (``dockyard.source.cwd``); a run that
    recorded none runs from ``cwd`` (default: the current directory).
    """
    if params_as not in PARAMS_AS:
        raise InvalidParameter(f"params_as must be one of {PARAMS_AS}, got {params_as!r}")
    tags = run.data.tags
    run_id = run.info.run_id
    source = tags.get("mlflow.source.name", "")
    if not source or source == CONSOLE:
        raise InvalidParameter(f"Run {run_id} was not started from a script (mlflow.source.name is {source!r})")
    commit = tags.get("mlflow.source.git.commit")
    if not commit:
        raise InvalidParameter(f"Run {run_id} records no git commit: its script was not in a git repository")
    if not _OBJECT_NAME.fullmatch(commit):
        raise InvalidParameter(
            f"Run {run_id}: the recorded commit {commit[:80]!r} is not a git object name (7 to 64 hex digits)"
        )
    root = tags.get("dockyard.source.git.root") or repo_root(os.path.dirname(source))
    if not root or not os.path.isdir(root):
        raise InvalidParameter(f"Run {run_id}: the git work tree {root or os.path.dirname(source)!r} is not here")
    script = os.path.relpath(source, root)
    if script.startswith(".."):
        raise InvalidParameter(f"Run {run_id}: the script {source!r} is outside the work tree {root!r}")
    workdir = tags.get("dockyard.source.cwd") or cwd or os.getcwd()
    if not os.path.isdir(workdir):
        raise InvalidParameter(
            f"Run {run_id}: its working directory {workdir!r} is not here (the script runs from there, as it did)"
        )
    if params_as == "options":
        args = [part for key, value in sorted(run.data.params.items()) for part in (f"--{key}", value)]
    elif "dockyard.source.args" in tags:
        args = [str(a) for a in json.loads(tags["dockyard.source.args"])]
    else:  # runs recorded before dockyard.source.args: the command is "python script args..."
        args = shlex.split(tags.get("dockyard.source.command", ""))[2:]
    dirty = tags.get("dockyard.source.git.dirty") == "true"
    return Plan(run, root, commit.lower(), script, os.path.abspath(workdir), args, dirty)


def requirements_from(text: str, *, artifact: str = PACKAGES_ARTIFACT) -> list[str]:
    """The requirement lines of a recorded requirements file, or :class:`ReproductionFailed` naming the
    first line that is anything else: a pip option (an index, ``--find-links``, ``--trusted-host``, an
    editable install, an include), a URL, a path or a direct reference (``name @ url``).

    >>> requirements_from("numpy==1.26.4\\n# a comment\\npandas[parquet]>=2.1,<3 ; python_version >= '3.11'\\n")
    ['numpy==1.26.4', "pandas[parquet]>=2.1,<3 ; python_version >= '3.11'"]
    """
    requirements = []
    for number, raw in enumerate(text.splitlines(), start=1):
        reason = _refusal(raw)
        if reason is not None:
            shown = raw.strip() if len(raw.strip()) <= 200 else raw.strip()[:200] + "..."
            raise ReproductionFailed(
                f"{artifact}, line {number}: {shown!r} is refused: {reason}. A recorded requirements file may "
                "only name packages and versions"
            )
        line = _COMMENT.sub("", raw).strip()
        if line:
            requirements.append(line)
    return requirements


def _refusal(raw: str) -> str | None:
    """Why a requirements line is refused, or None for a plain requirement, a comment or a blank line."""
    if "\\" in raw:
        return "a backslash (a line continuation or a Windows path)"
    line = _COMMENT.sub("", raw).strip()
    if not line:
        return None
    first = line.split()[0]
    option = first.split("=", 1)[0]
    if option in _INDEX_OPTIONS or option.startswith(("-i", "-f")):
        return "an index option (it changes where pip downloads packages from)"
    if option in _EDITABLE_OPTIONS or option.startswith("-e"):
        return "an editable install (from a path or URL)"
    if option in _INCLUDE_OPTIONS or option.startswith(("-r", "-c")):
        return "an include of another requirements file"
    if any(token.startswith("-") for token in line.split()):
        return "a pip option"
    if "://" in line or "@" in line or line.startswith(("git+", "hg+", "svn+", "bzr+", "file:")):
        return "a direct URL reference"
    if "/" in line or line.startswith(".") or line.endswith((".whl", ".zip", ".tar.gz", ".tgz")):
        return "a path"
    if "$" in line:
        return "an environment variable"
    if not _REQUIREMENT.fullmatch(line):
        return "not a plain requirement (a name, version specifiers, an environment marker)"
    return None


def prepare(
    client: TrackingClient,
    run: Run,
    *,
    where: Path,
    env_manager: str = "local",
    params_as: str = "args",
    cwd: str | None = None,
) -> Preparation:
    """Check everything :func:`reproduce` needs before it changes anything; artifacts are downloaded
    into ``where``. Raises :class:`InvalidParameter` or :class:`ReproductionFailed` saying what is wrong."""
    if env_manager not in ENV_MANAGERS:
        raise InvalidParameter(f"env_manager must be one of {ENV_MANAGERS}, got {env_manager!r}")
    todo = plan(run, params_as, cwd=cwd)
    run_id = run.info.run_id
    commit = _resolve_commit(todo)
    warnings: list[str] = []
    recorded = {f.path for f in client.list_artifacts(run_id, "dockyard")}
    diff = None
    if todo.dirty:
        if DIFF_ARTIFACT in recorded:
            diff = _fetch(client, run, DIFF_ARTIFACT, DIFF_DIGEST_TAG, where, warnings)
        elif DIFF_DIGEST_TAG in run.data.tags:  # the run logged it: its removal would change what runs
            raise ReproductionFailed(f"run {run_id} recorded a digest of {DIFF_ARTIFACT} but the artifact is missing")
        else:
            warnings.append(
                f"run {run_id} had uncommitted changes but has no {DIFF_ARTIFACT}: the commit is used as it is"
            )
    packages = None
    requirements: list[str] = []
    dockyard_spec = None
    if env_manager == "virtualenv":
        if PACKAGES_ARTIFACT not in recorded:
            raise ReproductionFailed(
                f"run {run_id} has no {PACKAGES_ARTIFACT}, so there is nothing to install: use --env-manager local"
            )
        packages = _fetch(client, run, PACKAGES_ARTIFACT, PACKAGES_DIGEST_TAG, where, warnings)
        lines = requirements_from(packages.content.decode("utf-8", "replace"))
        # Dockyard itself is installed from this installation's source when it is a checkout (it may
        # not be on the package index), else at the recorded version.
        requirements = [line for line in lines if not _is_dockyard(line)]
        source = Path(__file__).resolve().parents[3]
        dockyard_spec = (
            str(source)
            if (source / "pyproject.toml").is_file()
            else next((line for line in lines if _is_dockyard(line)), "dockyard")
        )
    return Preparation(todo, commit, env_manager, diff, packages, requirements, dockyard_spec, warnings)


def preview(client: TrackingClient, run_id: str, *, env_manager: str = "local", params_as: str = "args") -> Preparation:
    """What :func:`reproduce` would do, checked, without doing it (``dockyard runs reproduce --dry-run``)."""
    with tempfile.TemporaryDirectory(prefix="dockyard-reproduce-") as tmp:
        return prepare(client, client.get_run(run_id), where=Path(tmp), env_manager=env_manager, params_as=params_as)


def reproduce(
    client: TrackingClient,
    run_id: str,
    *,
    env: Mapping[str, str],
    env_manager: str = "local",
    params_as: str = "args",
    echo: Callable[[str], None] = print,
) -> Result:
    """Re-run ``run_id``'s script as described in the module docstring.

    ``env`` is the environment for the script (the caller's, say); ``DOCKYARD_TRACKING_URI`` and
    ``DOCKYARD_RUN_ID`` are set on top of it. The plan, and then the script's output line by line, go
    to ``echo``. A script that exits non-zero ends the new run FAILED and raises
    :class:`ReproductionFailed`.
    """
    original = client.get_run(run_id)
    with tempfile.TemporaryDirectory(prefix="dockyard-reproduce-") as tmp:
        prepared = prepare(
            client, original, where=Path(tmp) / "artifacts", env_manager=env_manager, params_as=params_as
        )
        for line in prepared.describe():
            echo(line)
        for warning in prepared.warnings:
            echo(f"Warning: {warning}")
        todo = prepared.plan
        worktree = Path(tmp) / "src"
        _git(["worktree", "add", "--detach", "--end-of-options", str(worktree), prepared.commit], todo.repo)
        new_id = ""
        python = sys.executable
        try:
            if prepared.diff is not None:
                patch = Path(tmp) / "checked.diff"  # the bytes that were checked, not a second download
                patch.write_bytes(prepared.diff.content)
                echo(f"Applying the run's uncommitted changes ({DIFF_ARTIFACT})")
                _git(["apply", "--whitespace=nowarn", "--end-of-options", str(patch)], str(worktree))
            if env_manager == "virtualenv":
                python = _virtualenv(prepared, Path(tmp), echo)
            new = client.create_run(
                original.info.experiment_id,
                run_name=f"{original.info.run_name}-reproduced" if original.info.run_name else None,
                tags={REPRODUCED_FROM_TAG: run_id},
            )
            new_id = new.info.run_id
            child_env = {**env, "DOCKYARD_TRACKING_URI": client.tracking_uri, "DOCKYARD_RUN_ID": new_id}
            command = [python, str(worktree / todo.script), *todo.args]
            echo(f"Running {shlex.join(command)} in {todo.cwd} (commit {prepared.commit[:12]}) as run {new_id}")
            returncode = _run(command, todo.cwd, child_env, echo)
        finally:
            try:
                if new_id:
                    _record_source(client, new_id, prepared, python)
            finally:
                _git(["worktree", "remove", "--force", "--end-of-options", str(worktree)], todo.repo)
    after = client.get_run(new_id)
    if returncode != 0:
        if after.info.status is RunStatus.RUNNING or after.info.status is RunStatus.FINISHED:
            client.set_terminated(new_id, RunStatus.FAILED)
        raise ReproductionFailed(f"the script exited with code {returncode}; run {new_id} is marked FAILED")
    if after.info.status is RunStatus.RUNNING:  # the script never started a run of its own
        client.set_terminated(new_id, RunStatus.FINISHED)
        after = client.get_run(new_id)
    keys = sorted(set(original.data.metrics) | set(after.data.metrics))
    diffs = [MetricDiff(k, original.data.metrics.get(k), after.data.metrics.get(k)) for k in keys]
    return Result(run_id, new_id, prepared.commit, returncode, diffs)


def _resolve_commit(todo: Plan) -> str:
    """The full name of the recorded commit in the work tree; it must be that commit, not a ref whose
    name happens to look like it."""
    proc = _call_git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{todo.commit}^{{commit}}"], todo.repo)
    resolved = proc.stdout.strip().lower()
    if proc.returncode != 0 or not resolved:
        raise ReproductionFailed(f"commit {todo.commit} is not in the git repository {todo.repo} (fetch it first)")
    if not resolved.startswith(todo.commit):
        raise ReproductionFailed(
            f"{todo.commit} names {resolved} in {todo.repo} (a branch or tag of that name?), not the recorded commit"
        )
    return resolved


def _fetch(client: TrackingClient, run: Run, path: str, digest_tag: str, where: Path, warnings: list[str]) -> Artifact:
    """The run's artifact ``path``, checked against the digest in the run's tag ``digest_tag``."""
    run_id = run.info.run_id
    content = Path(client.download_artifacts(run_id, path, str(where))).read_bytes()
    actual = digest(content)
    recorded = run.data.tags.get(digest_tag)
    if recorded is None:
        warnings.append(
            f"run {run_id} recorded no digest of {path} (it was recorded before Dockyard did), so it is used unverified"
        )
        return Artifact(path, content, actual, verified=False)
    if recorded.strip().lower() != actual:
        raise ReproductionFailed(
            f"{path} of run {run_id} does not match the digest the run recorded ({digest_tag} is "
            f"{recorded[:19]}..., the file's is {actual[:19]}...): it was changed after the run; nothing was "
            "applied or installed"
        )
    return Artifact(path, content, actual, verified=True)


def _record_source(client: TrackingClient, run_id: str, prepared: Preparation, python: str) -> None:
    """Point the new run's source at the original's script, work tree and commit (the script recorded
    the temporary worktree, which is about to be removed), so that it can be reproduced in turn."""
    todo = prepared.plan
    tags = {
        "mlflow.source.name": todo.source,
        "mlflow.source.type": "LOCAL",
        "mlflow.source.git.commit": prepared.commit,
        "dockyard.source.git.root": todo.repo,
        "dockyard.source.git.dirty": "true" if prepared.diff is not None else "false",
        "dockyard.source.cwd": todo.cwd,
        "dockyard.source.args": json.dumps(todo.args),
        "dockyard.source.command": shlex.join([python, todo.source, *todo.args]),
    }
    for key in ("mlflow.source.git.branch", "mlflow.source.git.repoURL"):
        if key in todo.run.data.tags:
            tags[key] = todo.run.data.tags[key]
    if prepared.diff is not None:  # the changes this run ran with, whatever the script recorded
        client.artifact_store(run_id).write_bytes(DIFF_ARTIFACT, prepared.diff.content)
        tags[DIFF_DIGEST_TAG] = prepared.diff.digest
    client.log_batch(run_id, tags=[RunTag(key, value) for key, value in tags.items()])
    if prepared.diff is None and DIFF_DIGEST_TAG in client.get_run(run_id).data.tags:
        client.delete_tag(run_id, DIFF_DIGEST_TAG)


def _call_git(args: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603  argv is git and the arguments this module builds, no shell
            ["git", *args],  # noqa: S607  the user's own git, found on PATH
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ReproductionFailed(f"git {' '.join(args)} did not finish in {GIT_TIMEOUT:.0f} s") from None


def _git(args: list[str], cwd: str) -> None:
    proc = _call_git(args, cwd)
    if proc.returncode != 0:
        raise ReproductionFailed(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")


def _virtualenv(prepared: Preparation, where: Path, echo: Callable[[str], None]) -> str:
    """A fresh virtual environment with the run's checked requirements; returns its python."""
    import venv

    assert prepared.dockyard_spec is not None  # noqa: S101  for mypy: prepare sets it for virtualenv
    (where / "requirements.txt").write_text("".join(f"{line}\n" for line in prepared.requirements))
    env_dir = where / "venv"
    echo(f"Creating a virtual environment with {len(prepared.requirements)} recorded packages in {env_dir}")
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    for spec in (["-r", str(where / "requirements.txt")], ["--no-deps", prepared.dockyard_spec]):
        proc = subprocess.run([python, "-m", "pip", "install", "--quiet", *spec], capture_output=True, text=True)  # noqa: S603  the venv's own python and pip arguments built here, no shell
        if proc.returncode != 0:
            raise ReproductionFailed(f"pip install {' '.join(spec)} failed: {proc.stderr.strip()[-2000:]}")
    return python


def _run(command: list[str], cwd: str, env: dict[str, str], echo: Callable[[str], None]) -> int:
    if not os.path.isdir(cwd):
        raise ReproductionFailed(f"the run's working directory {cwd!r} does not exist")
    with subprocess.Popen(  # noqa: S603  reproducing a run runs its recorded script by design; argv list, no shell
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None  # noqa: S101  for mypy: stdout=PIPE always gives a stream
        for line in proc.stdout:
            echo(line.rstrip("\n"))
        return proc.wait()


def _is_dockyard(requirement: str) -> bool:
    match = _REQUIREMENT.match(requirement)
    return match is not None and re.sub(r"[-_.]+", "-", match.group("name")).lower() == "dockyard"


def _checked(artifact: Artifact) -> str:
    return f"{artifact.digest[:19]}..., matches the recorded digest" if artifact.verified else "NOT verified"


def _artifact_dict(artifact: Artifact) -> dict[str, object]:
    return {"artifact": artifact.path, "digest": artifact.digest, "verified": artifact.verified}


def _diff_files(diff: bytes) -> list[tuple[str, int, int]]:
    """(path, lines added, lines removed) per file of a ``git diff``.

    >>> _diff_files(b"# header\\ndiff --git a/t.py b/t.py\\n--- a/t.py\\n+++ b/t.py\\n@@ -1 +1,2 @@\\n-a\\n+b\\n+c\\n")
    [('t.py', 2, 1)]
    """
    paths: list[str] = []
    added: list[int] = []
    removed: list[int] = []
    in_hunk = False
    for raw in diff.splitlines():
        if raw.startswith(b"diff --git "):
            names = raw[len(b"diff --git ") :].decode("utf-8", "replace")
            paths.append(names.split(" b/", 1)[1] if " b/" in names else names)
            added.append(0)
            removed.append(0)
            in_hunk = False
        elif raw.startswith(b"@@") and paths:
            in_hunk = True
        elif in_hunk and raw.startswith(b"+"):
            added[-1] += 1
        elif in_hunk and raw.startswith(b"-"):
            removed[-1] += 1
    return list(zip(paths, added, removed, strict=True))


__all__ = [
    "ENV_MANAGERS",
    "PARAMS_AS",
    "REPRODUCED_FROM_TAG",
    "Artifact",
    "MetricDiff",
    "Plan",
    "Preparation",
    "Result",
    "plan",
    "prepare",
    "preview",
    "reproduce",
    "requirements_from",
]
