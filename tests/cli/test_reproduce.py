"""`dockyard runs reproduce`: a tiny script in a temporary git repository, re-run at its recorded commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import dockyard
from dockyard.tracking.entities import RunStatus

SCRIPT_V1 = """
import argparse, random
import dockyard

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
dockyard.set_experiment("repro")
with dockyard.start_run(run_name="train"):
    dockyard.log_params({"lr": args.lr, "seed": args.seed})
    rng = random.Random(args.seed)
    for step in range(3):
        dockyard.log_metric("loss", args.lr / (step + 1) + rng.random() * OFFSET, step=step)
    dockyard.log_metric("accuracy", 1 - args.lr / 10)
    print("trained with", args.lr)
"""


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding train.py, with git isolated from the user's configuration."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text(SCRIPT_V1.replace("OFFSET", "0.5"))
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "v1")
    return root


def run_script(repo: Path, store_path: str, *args: str) -> str:
    """Run train.py as a user would; return the id of the run it logged."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env["DOCKYARD_TRACKING_URI"] = store_path
    subprocess.run([sys.executable, "train.py", *args], cwd=repo, env=env, check=True, capture_output=True)
    client = dockyard.Client(store_path)
    experiment = client.get_experiment_by_name("repro")
    assert experiment is not None
    newest = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"]).items[0]
    client.close()
    return newest.info.run_id


def test_reproduces_at_the_recorded_commit_with_the_recorded_args(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client
) -> None:
    original = run_script(repo, store_path, "--lr", "0.5", "--seed", "3")
    # The code moves on after the run: reproducing must use the recorded commit, not HEAD.
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text(SCRIPT_V1.replace("OFFSET", "5.0"))
    git(repo, "commit", "-q", "-am", "v2")

    result = cli("runs", "reproduce", original, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert "trained with 0.5" in result.stderr  # the script's output goes to stderr
    assert payload["original_run_id"] == original and payload["commit"] == commit and payload["returncode"] == 0
    diffs = {m["key"]: m for m in payload["metrics"]}
    assert set(diffs) == {"loss", "accuracy"}
    assert all(m["difference"] == 0 and m["relative_difference"] == 0 for m in diffs.values())

    new = client.get_run(payload["run_id"])
    assert new.data.tags["dockyard.reproduced_from"] == original
    assert new.data.tags["mlflow.source.git.commit"] == commit
    assert new.data.params == {"lr": "0.5", "seed": "3"}
    assert new.info.status is RunStatus.FINISHED
    assert new.info.experiment_id == client.get_run(original).info.experiment_id
    assert git(repo, "worktree", "list").count("\n") == 0  # the temporary worktree is gone


def test_uncommitted_changes_are_applied_and_the_table_shows_differences(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client
) -> None:
    (repo / "train.py").write_text(SCRIPT_V1.replace("OFFSET", "0.25"))  # not committed
    original = run_script(repo, store_path, "--lr", "0.2")
    assert client.get_run(original).data.tags["dockyard.source.git.dirty"] == "true"
    # A tampered metric on the original, so the table has a difference to show.
    client.log_metric(original, "accuracy", 0.5)
    result = cli("runs", "reproduce", original)
    assert result.exit_code == 0, result.output
    assert "Applying the run's uncommitted changes" in result.stderr
    assert "accuracy" in result.stdout and "loss" in result.stdout
    assert "+96.00%" in result.stdout  # accuracy 0.98 against the tampered 0.5
    reproduced = client.search_runs(
        [client.get_run(original).info.experiment_id], f"tags.`dockyard.reproduced_from` = '{original}'"
    ).items[0]
    assert reproduced.data.metrics["loss"] == client.get_run(original).data.metrics["loss"]


def test_params_as_options(repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client) -> None:
    original = run_script(repo, store_path, "--lr", "0.3", "--seed", "1")
    # Forget the recorded arguments: the params alone must bring the same values back.
    client.set_tag(original, "dockyard.source.args", "[]")
    result = cli("runs", "reproduce", original, "--params-as", "options", "--json")
    assert result.exit_code == 0, result.output
    diffs = {m["key"]: m["difference"] for m in json.loads(result.stdout)["metrics"]}
    assert diffs == {"loss": 0.0, "accuracy": 0.0}
    result = cli("runs", "reproduce", original, "--json")  # with no arguments: the defaults, other metrics
    assert json.loads(result.stdout)["metrics"][0]["difference"] != 0


def test_a_failing_script_fails_the_new_run(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client, one_error_line
) -> None:  # type: ignore[no-untyped-def]
    original = run_script(repo, store_path)
    client.set_tag(original, "dockyard.source.args", json.dumps(["--lr", "not-a-number"]))
    result = cli("runs", "reproduce", original)
    assert result.exit_code == 1
    assert "exited with code 2" in result.output.splitlines()[-1]
    failed = client.search_runs(
        [client.get_run(original).info.experiment_id], f"tags.`dockyard.reproduced_from` = '{original}'"
    ).items
    assert [r.info.status for r in failed] == [RunStatus.FAILED]


def test_runs_that_cannot_be_reproduced(
    tmp_path: Path, cli: Callable[..., Result], client: dockyard.Client, one_error_line
) -> None:  # type: ignore[no-untyped-def]
    console_run = client.create_run("0", tags={"mlflow.source.name": "<console>"})
    assert "not started from a script" in one_error_line(cli("runs", "reproduce", console_run.info.run_id))
    no_git = client.create_run("0", tags={"mlflow.source.name": str(tmp_path / "x.py")})
    assert "no git commit" in one_error_line(cli("runs", "reproduce", no_git.info.run_id))
    assert "not found" in one_error_line(cli("runs", "reproduce", "f" * 32)).lower()
