"""The pieces of `runs reproduce` below the CLI: the plan read from a run, DOCKYARD_RUN_ID, metric diffs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dockyard
from dockyard.core.errors import InvalidParameter
from dockyard.tracking.entities import RunStatus
from dockyard.tracking.reproduce import MetricDiff, plan


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
        "src",
        ["--lr", "0.1"],
        True,
    )
    assert plan(client.get_run(run.info.run_id), "options").args == ["--lr", "0.1"]
    with pytest.raises(InvalidParameter, match="params_as"):
        plan(client.get_run(run.info.run_id), "env")
    client.close()


def test_plan_falls_back_to_the_command_line(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    client = dockyard.Client(str(tmp_path / "s.db"))
    run = client.create_run(
        "0",
        tags={
            "mlflow.source.name": str(tmp_path / "t.py"),
            "mlflow.source.git.commit": "b" * 40,
            "dockyard.source.command": f"/usr/bin/python3 {tmp_path / 't.py'} --epochs '3'",
        },
    )
    todo = plan(client.get_run(run.info.run_id))
    assert (todo.repo, todo.script, todo.cwd, todo.args) == (str(tmp_path), "t.py", ".", ["--epochs", "3"])
    client.close()


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
