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
from dockyard.tracking.context import DIFF_ARTIFACT, DIFF_DIGEST_TAG, PACKAGES_ARTIFACT, PACKAGES_DIGEST_TAG, digest
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


def run_script(repo: Path, store_path: str, *args: str, script: str = "train.py") -> str:
    """Run the script (train.py) as a user would; return the id of the run it logged."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env["DOCKYARD_TRACKING_URI"] = store_path
    subprocess.run([sys.executable, script, *args], cwd=repo, env=env, check=True, capture_output=True)
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
    # The plan comes first, on stderr too: what is checked out, applied, installed and run, and where.
    assert f"Plan for reproducing run {original}:" in result.stderr
    assert f"check out  commit {commit} of {repo}" in result.stderr
    assert "apply      nothing" in result.stderr
    assert f"python     {sys.executable} (this environment; nothing is installed)" in result.stderr
    assert "run        python <worktree>/train.py --lr 0.5 --seed 3" in result.stderr
    assert f"from       {repo} (the run's working directory)" in result.stderr
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
    assert "apply      dockyard/git.diff (sha256:" in result.stderr and "matches the recorded digest" in result.stderr
    assert "train.py +1 -1" in result.stderr
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


def dirty_run(repo: Path, store_path: str) -> str:
    """A run of train.py with an uncommitted change (so it records dockyard/git.diff)."""
    (repo / "train.py").write_text(SCRIPT_V1.replace("OFFSET", "0.25"))
    return run_script(repo, store_path, "--lr", "0.2")


def reproductions(client: dockyard.Client, run_id: str) -> list[dockyard.Run]:
    experiment_id = client.get_run(run_id).info.experiment_id
    return client.search_runs([experiment_id], f"tags.`dockyard.reproduced_from` = '{run_id}'").items


SCRIPT_WITH_INPUTS = """
from pathlib import Path
import dockyard

# Inputs git does not track, read relative to the working directory the run was started in.
value = float(Path("data/input.txt").read_text())
secret = Path(".env").read_text().strip()
dockyard.set_experiment("repro")
with dockyard.start_run(run_name="inputs"):
    dockyard.log_metric("value", value)
    dockyard.log_param("secret_length", len(secret))
"""


def test_a_script_reads_untracked_inputs_from_the_original_directory(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client
) -> None:
    (repo / "inputs.py").write_text(SCRIPT_WITH_INPUTS)
    git(repo, "add", "inputs.py")
    git(repo, "commit", "-q", "-m", "inputs")
    (repo / ".gitignore").write_text(".env\n")  # ignored; data/ is merely untracked
    (repo / ".env").write_text("TOKEN=abc\n")
    (repo / "data").mkdir()
    (repo / "data" / "input.txt").write_text("2.5\n")
    original = run_script(repo, store_path, script="inputs.py")

    result = cli("runs", "reproduce", original, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [(m["key"], m["original"], m["reproduced"]) for m in payload["metrics"]] == [("value", 2.5, 2.5)]
    assert client.get_run(payload["run_id"]).data.params == {"secret_length": "9"}


def test_a_reproduced_run_records_the_original_source_and_can_be_reproduced_again(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client
) -> None:
    original = dirty_run(repo, store_path)
    recorded = client.get_run(original).data.tags
    commit = recorded["mlflow.source.git.commit"]

    first = cli("runs", "reproduce", original, "--json")
    assert first.exit_code == 0, first.output
    once = json.loads(first.stdout)["run_id"]
    tags = client.get_run(once).data.tags
    # The source is the original's (the temporary worktree is gone), with the changes that were applied.
    assert tags["mlflow.source.name"] == str(repo / "train.py")
    assert tags["dockyard.source.git.root"] == str(repo)
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["dockyard.source.cwd"] == str(repo)
    assert tags["dockyard.source.git.dirty"] == "true"
    assert json.loads(tags["dockyard.source.args"]) == ["--lr", "0.2"]
    assert "dockyard-reproduce-" not in json.dumps(tags)
    assert tags[DIFF_DIGEST_TAG] == recorded[DIFF_DIGEST_TAG]
    diff = Path(client.download_artifacts(once, DIFF_ARTIFACT, str(repo.parent / "dl")))
    assert digest(diff.read_bytes()) == recorded[DIFF_DIGEST_TAG]
    assert tags[PACKAGES_DIGEST_TAG] == digest(
        Path(client.download_artifacts(once, PACKAGES_ARTIFACT, str(repo.parent / "dl"))).read_bytes()
    )

    # The code moves on; reproducing the reproduction still runs the recorded commit and changes.
    (repo / "train.py").write_text(SCRIPT_V1.replace("OFFSET", "9.0"))
    git(repo, "commit", "-q", "-am", "v2")
    second = cli("runs", "reproduce", once, "--json")
    assert second.exit_code == 0, second.output
    payload = json.loads(second.stdout)
    assert payload["commit"] == commit
    assert "Applying the run's uncommitted changes" in second.stderr
    assert all(m["difference"] == 0 for m in payload["metrics"])
    twice = client.get_run(payload["run_id"])
    assert twice.data.tags["dockyard.reproduced_from"] == once
    assert twice.data.tags["mlflow.source.name"] == str(repo / "train.py")
    assert twice.data.metrics["loss"] == client.get_run(original).data.metrics["loss"]
    assert git(repo, "worktree", "list").count("\n") == 0


def test_a_tampered_diff_is_refused_before_anything_runs(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client, one_error_line
) -> None:  # type: ignore[no-untyped-def]
    original = dirty_run(repo, store_path)
    recorded = Path(client.download_artifacts(original, DIFF_ARTIFACT, str(repo.parent / "dl"))).read_text()
    client.log_text(original, recorded + "+import os; os.system('echo owned')\n", DIFF_ARTIFACT)
    line = one_error_line(cli("runs", "reproduce", original))
    assert f"dockyard/git.diff of run {original} does not match the digest the run recorded" in line
    assert reproductions(client, original) == []
    assert git(repo, "worktree", "list").count("\n") == 0
    assert "does not match" in one_error_line(cli("runs", "reproduce", original, "--dry-run"))


def test_a_removed_diff_is_refused(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client, one_error_line
) -> None:  # type: ignore[no-untyped-def]
    original = dirty_run(repo, store_path)
    Path(client.get_run(original).info.artifact_uri.removeprefix("file://"), DIFF_ARTIFACT).unlink()
    assert "recorded a digest of dockyard/git.diff but the artifact is missing" in one_error_line(
        cli("runs", "reproduce", original)
    )


def test_a_run_recorded_before_digests_proceeds_with_a_warning(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client
) -> None:
    original = dirty_run(repo, store_path)
    client.delete_tag(original, DIFF_DIGEST_TAG)
    client.delete_tag(original, PACKAGES_DIGEST_TAG)
    result = cli("runs", "reproduce", original)
    assert result.exit_code == 0, result.output
    assert f"Warning: run {original} recorded no digest of dockyard/git.diff" in result.stderr
    assert "apply      dockyard/git.diff (NOT verified)" in result.stderr
    # The reproduction records a digest of the changes it applied.
    (again,) = reproductions(client, original)
    assert again.data.tags[DIFF_DIGEST_TAG].startswith("sha256:")


def test_index_options_in_the_recorded_requirements_are_refused_naming_the_line(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client, one_error_line
) -> None:  # type: ignore[no-untyped-def]
    original = run_script(repo, store_path)
    # Digest and file changed together (by whoever can write both): the content check still refuses it.
    packages = b"numpy==1.26.4\n--index-url https://evil.example/simple\npandas==2.2.0\n"
    client.log_text(original, packages.decode(), PACKAGES_ARTIFACT)
    client.set_tag(original, PACKAGES_DIGEST_TAG, digest(packages))
    line = one_error_line(cli("runs", "reproduce", original, "--env-manager", "virtualenv"))
    assert "dockyard/packages.txt, line 2: '--index-url https://evil.example/simple' is refused" in line
    assert "an index option" in line
    assert reproductions(client, original) == []
    assert "line 2" in one_error_line(cli("runs", "reproduce", original, "--env-manager", "virtualenv", "--dry-run"))


def test_a_commit_that_is_not_a_hex_object_name_is_refused(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client, one_error_line
) -> None:  # type: ignore[no-untyped-def]
    original = run_script(repo, store_path)
    client.set_tag(original, "mlflow.source.git.commit", "--output=/tmp/owned")
    assert "the recorded commit '--output=/tmp/owned' is not a git object name" in one_error_line(
        cli("runs", "reproduce", original)
    )
    client.set_tag(original, "mlflow.source.git.commit", "f" * 40)
    assert f"commit {'f' * 40} is not in the git repository" in one_error_line(cli("runs", "reproduce", original))
    # A branch whose name looks like an abbreviated commit is not taken for the commit.
    git(repo, "branch", "abcdef1")
    client.set_tag(original, "mlflow.source.git.commit", "abcdef1")
    assert "not the recorded commit" in one_error_line(cli("runs", "reproduce", original))
    assert reproductions(client, original) == []


def test_dry_run_prints_the_plan_and_runs_nothing(
    repo: Path, store_path: str, cli: Callable[..., Result], client: dockyard.Client
) -> None:
    original = dirty_run(repo, store_path)
    commit = client.get_run(original).data.tags["mlflow.source.git.commit"]
    result = cli("runs", "reproduce", original, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"Plan for reproducing run {original}:" in result.stdout
    assert f"check out  commit {commit} of {repo}" in result.stdout
    assert "train.py +1 -1" in result.stdout
    assert "Dry run: nothing was checked out, installed or run." in result.stdout

    result = cli("runs", "reproduce", original, "--dry-run", "--json", "--env-manager", "virtualenv")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["commit"], payload["cwd"], payload["args"]) == (commit, str(repo), ["--lr", "0.2"])
    assert payload["diff"]["verified"] is True
    assert payload["diff"]["files"] == [{"path": "train.py", "added": 1, "removed": 1}]
    # This environment's own package list passes the requirements check.
    assert f"pytest=={pytest.__version__}" in payload["packages"]["requirements"]
    assert payload["packages"]["verified"] is True and payload["warnings"] == []
    assert reproductions(client, original) == []
    assert git(repo, "worktree", "list").count("\n") == 0
