"""Re-run a run's script at its recorded commit and compare the metrics: ``dockyard runs reproduce``.

A run started by a script records what is needed (see :mod:`dockyard.tracking.context`): the script
(``mlflow.source.name``), its arguments (``dockyard.source.args``), the working directory, the git
commit and work tree, the uncommitted diff (``dockyard/git.diff``) and the installed packages
(``dockyard/packages.txt``). :func:`reproduce`:

1. checks the commit out in a temporary ``git worktree`` (detached) and applies the recorded diff;
2. picks the interpreter: this one (``env_manager="local"``) or a fresh virtual environment with the
   recorded packages (``"virtualenv"``);
3. creates the new run (tag ``dockyard.reproduced_from`` = the original's id) and runs the script in
   the worktree with ``DOCKYARD_RUN_ID`` set, so the script's first ``start_run()`` logs into it;
4. compares the new run's metrics with the original's; the worktree is removed at the end.

**How params reach the script.** ``params_as="args"`` (default) passes the original command-line
arguments again, so a script that takes its params as options (``train.py --lr 0.1``) gets the same
values. ``params_as="options"`` passes every recorded param as ``--KEY VALUE`` instead (argparse
style), for runs whose arguments were not recorded or that logged params they were not given.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import InvalidParameter, ReproductionFailed
from dockyard.tracking.context import CONSOLE, DIFF_ARTIFACT, PACKAGES_ARTIFACT, repo_root
from dockyard.tracking.entities import Run, RunStatus

if TYPE_CHECKING:
    from dockyard.tracking.client import TrackingClient

REPRODUCED_FROM_TAG = "dockyard.reproduced_from"
ENV_MANAGERS = ("local", "virtualenv")
PARAMS_AS = ("args", "options")
GIT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Plan:
    """What to run, taken from the original run's tags."""

    run: Run
    repo: str
    commit: str
    script: str  # relative to the work tree's root
    cwd: str  # relative to the work tree's root
    args: list[str]
    dirty: bool


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


def plan(run: Run, params_as: str = "args") -> Plan:
    """The re-run a run describes, or :class:`InvalidParameter` saying what it lacks."""
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
    root = tags.get("dockyard.source.git.root") or repo_root(os.path.dirname(source))
    if not root or not os.path.isdir(root):
        raise InvalidParameter(f"Run {run_id}: the git work tree {root or os.path.dirname(source)!r} is not here")
    script = os.path.relpath(source, root)
    if script.startswith(".."):
        raise InvalidParameter(f"Run {run_id}: the script {source!r} is outside the work tree {root!r}")
    cwd = os.path.relpath(tags.get("dockyard.source.cwd") or root, root)
    if cwd.startswith(".."):
        cwd = "."  # started from outside the repository: run from its root
    if params_as == "options":
        args = [part for key, value in sorted(run.data.params.items()) for part in (f"--{key}", value)]
    elif "dockyard.source.args" in tags:
        args = [str(a) for a in json.loads(tags["dockyard.source.args"])]
    else:  # runs recorded before dockyard.source.args: the command is "python script args..."
        args = shlex.split(tags.get("dockyard.source.command", ""))[2:]
    return Plan(run, root, commit, script, cwd, args, tags.get("dockyard.source.git.dirty") == "true")


def _git(args: list[str], cwd: str) -> None:
    proc = subprocess.run(  # noqa: S603  argv is git and the arguments this module builds, no shell
        ["git", *args],  # noqa: S607  the user's own git, found on PATH
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise ReproductionFailed(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")


def _virtualenv(client: TrackingClient, run_id: str, where: Path, echo: Callable[[str], None]) -> str:
    """A fresh virtual environment with the run's recorded packages; returns its python."""
    import venv

    packages = Path(client.download_artifacts(run_id, PACKAGES_ARTIFACT, str(where)))
    # Dockyard itself is installed from this installation's source when it is a checkout (it may
    # not be on the package index), else at the recorded version.
    lines = [line for line in packages.read_text().splitlines() if line.strip()]
    requirements = [line for line in lines if not line.lower().startswith("dockyard==")]
    (where / "requirements.txt").write_text("\n".join(requirements) + "\n")
    env_dir = where / "venv"
    echo(f"Creating a virtual environment with {len(requirements)} recorded packages in {env_dir}")
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    source = Path(__file__).resolve().parents[3]
    dockyard_spec = (
        str(source)
        if (source / "pyproject.toml").is_file()
        else next((line for line in lines if line.lower().startswith("dockyard==")), "dockyard")
    )
    for spec in (["-r", str(where / "requirements.txt")], ["--no-deps", dockyard_spec]):
        proc = subprocess.run([python, "-m", "pip", "install", "--quiet", *spec], capture_output=True, text=True)  # noqa: S603  the venv's own python and pip arguments built here, no shell
        if proc.returncode != 0:
            raise ReproductionFailed(f"pip install {' '.join(spec)} failed: {proc.stderr.strip()[-2000:]}")
    return python


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
    ``DOCKYARD_RUN_ID`` are set on top of it. The script's output goes line by line to ``echo``.
    A script that exits non-zero ends the new run FAILED and raises :class:`ReproductionFailed`.
    """
    if env_manager not in ENV_MANAGERS:
        raise InvalidParameter(f"env_manager must be one of {ENV_MANAGERS}, got {env_manager!r}")
    original = client.get_run(run_id)
    todo = plan(original, params_as)
    with tempfile.TemporaryDirectory(prefix="dockyard-reproduce-") as tmp:
        worktree = Path(tmp) / "src"
        _git(["worktree", "add", "--detach", str(worktree), todo.commit], todo.repo)
        try:
            if todo.dirty and any(f.path == DIFF_ARTIFACT for f in client.list_artifacts(run_id, "dockyard")):
                diff = Path(client.download_artifacts(run_id, DIFF_ARTIFACT, tmp))
                echo(f"Applying the run's uncommitted changes ({DIFF_ARTIFACT})")
                _git(["apply", "--whitespace=nowarn", str(diff)], str(worktree))
            python = sys.executable if env_manager == "local" else _virtualenv(client, run_id, Path(tmp), echo)
            new = client.create_run(
                original.info.experiment_id,
                run_name=f"{original.info.run_name}-reproduced" if original.info.run_name else None,
                tags={REPRODUCED_FROM_TAG: run_id},
            )
            new_id = new.info.run_id
            child_env = {**env, "DOCKYARD_TRACKING_URI": client.tracking_uri, "DOCKYARD_RUN_ID": new_id}
            command = [python, str(worktree / todo.script), *todo.args]
            echo(f"Running {shlex.join(command)} (commit {todo.commit[:12]}) as run {new_id}")
            returncode = _run(command, str(worktree / todo.cwd), child_env, echo)
        finally:
            _git(["worktree", "remove", "--force", str(worktree)], todo.repo)
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
    return Result(run_id, new_id, todo.commit, returncode, diffs)


def _run(command: list[str], cwd: str, env: dict[str, str], echo: Callable[[str], None]) -> int:
    if not os.path.isdir(cwd):
        raise ReproductionFailed(f"the run's working directory {cwd!r} does not exist at its commit")
    with subprocess.Popen(  # noqa: S603  reproducing a run runs its recorded script by design; argv list, no shell
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None  # noqa: S101  for mypy: stdout=PIPE always gives a stream
        for line in proc.stdout:
            echo(line.rstrip("\n"))
        return proc.wait()


__all__ = ["ENV_MANAGERS", "PARAMS_AS", "REPRODUCED_FROM_TAG", "MetricDiff", "Plan", "Result", "plan", "reproduce"]
