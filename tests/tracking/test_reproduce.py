"""The pieces of `runs reproduce` below the CLI: the plan read from a run, the checks of what it recorded,
DOCKYARD_RUN_ID, metric diffs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dockyard
from dockyard.core.errors import InvalidParameter, ReproductionFailed
from dockyard.tracking.entities import RunStatus
from dockyard.tracking.reproduce import MetricDiff, plan, requirements_from


def test_plan_from_recorded_tags(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    client = dockyard.Client(str(tmp_path / "s.db"))
    tags = {
        "mlflow.source.name": str(root / "src" / "train.py"),
        "mlflow.source.git.commit": "a" * 40,
        "dockyard.source.args": json.dumps(["--lr", "0.1"]),
        "dockyard.source.cwd": str(root / "src"),
        "dockyard.source.git.dirty": "true",
    }
    run = client.create_run("0", tags=tags)
    client.log_param(run.info.run_id, "lr", 0.1)
    todo = plan(client.get_run(run.info.run_id))
    assert (todo.repo, todo.script, todo.cwd, todo.args, todo.dirty) == (
        str(root),
        "src/train.py",
        str(root / "src"),  # the directory the run was started in, not the worktree's copy of it
        ["--lr", "0.1"],
        True,
    )
    assert todo.source == str(root / "src" / "train.py")
    assert plan(client.get_run(run.info.run_id), "options").args == ["--lr", "0.1"]
    with pytest.raises(InvalidParameter, match="params_as"):
        plan(client.get_run(run.info.run_id), "env")
    client.close()


def test_plan_falls_back_to_the_command_line(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "here").mkdir()
    client = dockyard.Client(str(tmp_path / "s.db"))
    run = client.create_run(
        "0",
        tags={
            "mlflow.source.name": str(tmp_path / "t.py"),
            "mlflow.source.git.commit": "b" * 40,
            "dockyard.source.command": f"/usr/bin/python3 {tmp_path / 't.py'} --epochs '3'",
        },
    )
    todo = plan(client.get_run(run.info.run_id), cwd=str(tmp_path / "here"))
    # No recorded working directory: the given one (the command's current directory).
    assert (todo.repo, todo.script, todo.cwd, todo.args) == (
        str(tmp_path),
        "t.py",
        str(tmp_path / "here"),
        ["--epochs", "3"],
    )
    client.close()


def recorded_run(tmp_path: Path, **tags: str) -> dockyard.Run:
    (tmp_path / ".git").mkdir(exist_ok=True)
    client = dockyard.Client(str(tmp_path / "s.db"))
    all_tags = {
        "mlflow.source.name": str(tmp_path / "t.py"),
        "mlflow.source.git.commit": "c" * 40,
        "dockyard.source.cwd": str(tmp_path),
        **tags,
    }
    run = client.get_run(client.create_run("0", tags=all_tags).info.run_id)
    client.close()
    return run


@pytest.mark.parametrize(
    "commit",
    [
        "--output=/tmp/owned",  # an option to git, not a commit
        "-b",
        "--upload-pack=touch /tmp/owned",
        "HEAD",
        "main",
        "HEAD~1",
        "abc12",  # shorter than git's default abbreviation
        "g" * 40,
        "a" * 65,
        "a" * 40 + "\n",
        "a" * 40 + " -x",
    ],
)
def test_a_commit_that_is_not_a_hex_object_name_is_refused(tmp_path: Path, commit: str) -> None:
    run = recorded_run(tmp_path, **{"mlflow.source.git.commit": commit})
    with pytest.raises(InvalidParameter, match="is not a git object name"):
        plan(run)


@pytest.mark.parametrize("commit", ["abcdef1", "A" * 40, "0123456789" * 6 + "abcd"])
def test_hex_object_names_are_accepted_in_lower_case(tmp_path: Path, commit: str) -> None:
    assert plan(recorded_run(tmp_path, **{"mlflow.source.git.commit": commit})).commit == commit.lower()


def test_a_recorded_working_directory_that_is_gone_is_refused(tmp_path: Path) -> None:
    run = recorded_run(tmp_path, **{"dockyard.source.cwd": str(tmp_path / "gone")})
    with pytest.raises(InvalidParameter, match=r"working directory .*gone.* is not here"):
        plan(run)


def test_plain_requirements_are_accepted() -> None:
    text = (
        "# packages\n"
        "\n"
        "numpy==1.26.4\n"
        "Foo_Bar.baz==1.0rc1  # a comment\n"
        "pkg[extra1, extra2]==2.0\n"
        "ranged>=1,<2\n"
        "marked==1.0; python_version >= '3.11' and sys_platform == \"linux\"\n"
        "torch==2.3.0+cpu\n"
        "bare\n"
    )
    assert requirements_from(text) == [
        "numpy==1.26.4",
        "Foo_Bar.baz==1.0rc1",
        "pkg[extra1, extra2]==2.0",
        "ranged>=1,<2",
        "marked==1.0; python_version >= '3.11' and sys_platform == \"linux\"",
        "torch==2.3.0+cpu",
        "bare",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("--index-url https://evil.example/simple", "an index option"),
        ("--index-url=https://evil.example/simple", "an index option"),
        ("-i https://evil.example/simple", "an index option"),
        ("-ihttps://evil.example/simple", "an index option"),
        ("--extra-index-url https://evil.example/simple", "an index option"),
        ("--find-links https://evil.example/wheels", "an index option"),
        ("-f /tmp/wheels", "an index option"),
        ("--trusted-host evil.example", "an index option"),
        ("--no-index", "an index option"),
        ("-e git+https://evil.example/pkg.git#egg=pkg", "an editable install"),
        ("--editable ./pkg", "an editable install"),
        ("-r other.txt", "an include"),
        ("--requirement other.txt", "an include"),
        ("-c constraints.txt", "an include"),
        ("--constraint=constraints.txt", "an include"),
        ("numpy==1.26.4 --index-url https://evil.example/simple", "a pip option"),
        ("numpy==1.26.4 --hash=sha256:00", "a pip option"),
        ("--pre", "a pip option"),
        ("numpy @ https://evil.example/numpy.whl", "a direct URL reference"),
        ("numpy@https://evil.example/numpy.whl", "a direct URL reference"),
        ("git+https://evil.example/pkg.git", "a direct URL reference"),
        ("https://evil.example/pkg.tar.gz", "a direct URL reference"),
        ("file:pkg", "a direct URL reference"),
        ("./pkg", "a path"),
        ("/tmp/pkg-1.0-py3-none-any.whl", "a path"),
        ("pkg-1.0.tar.gz", "a path"),
        ("numpy==${VERSION}", "an environment variable"),
        ("numpy==1.26.4 \\", "a backslash"),
        ("numpy===1.0#not-a-comment", "not a plain requirement"),
        ("numpy==1.0 [extra]", "not a plain requirement"),
    ],
)
def test_options_urls_and_paths_in_requirements_are_refused_naming_the_line(line: str, reason: str) -> None:
    with pytest.raises(ReproductionFailed, match="line 2") as caught:
        requirements_from(f"numpy==1.26.4\n{line}\npandas==2.2.0\n")
    assert reason in str(caught.value)
    assert "dockyard/packages.txt, line 2" in str(caught.value)


def test_metric_diff() -> None:
    assert (MetricDiff("m", 2.0, 3.0).difference, MetricDiff("m", 2.0, 3.0).relative_difference) == (1.0, 0.5)
    assert MetricDiff("m", -2.0, -3.0).relative_difference == -0.5
    assert MetricDiff("m", 0.0, 0.0).relative_difference == 0.0
    assert MetricDiff("m", 0.0, 1.0).relative_difference is None
    assert MetricDiff("m", None, 1.0).difference is None and MetricDiff("m", 1.0, None).relative_difference is None


def test_dockyard_run_id_is_resumed_by_the_first_top_level_run_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = str(tmp_path / "env.db")
    launcher = dockyard.Client(store)
    prepared = launcher.create_run("0", tags={"dockyard.reproduced_from": "x"})
    monkeypatch.setenv("DOCKYARD_TRACKING_URI", store)
    monkeypatch.setenv("DOCKYARD_RUN_ID", prepared.info.run_id)
    with dockyard.start_run(run_name="resumed") as first:
        dockyard.log_metric("m", 1.0)
        with dockyard.start_run(nested=True) as child:
            assert child.info.run_id != prepared.info.run_id
    assert first.info.run_id == prepared.info.run_id
    with dockyard.start_run() as second:
        assert second.info.run_id != prepared.info.run_id
    stored = launcher.get_run(prepared.info.run_id)
    assert stored.info.run_name == "resumed" and stored.info.status is RunStatus.FINISHED
    assert stored.data.metrics["m"] == 1.0
    assert stored.data.tags["dockyard.reproduced_from"] == "x"
    assert "mlflow.source.name" in stored.data.tags  # the context of the process that resumed it
    launcher.close()
