"""dockyard models lineage / diff (promote and rollback are in test_models.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import dockyard
from cli.test_models import write_model
from dockyard.core.config import Settings
from dockyard.registry.backends import open_registry
from dockyard.registry.service import RegistryService
from dockyard.tracking.entities import Dataset, DatasetInput, Metric, Param, RunTag


@pytest.fixture
def registry(store_path: str) -> RegistryService:
    return open_registry(Settings.from_env({"DOCKYARD_TRACKING_URI": store_path}))


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _run(client: dockyard.Client, lr: str, auc: float, digest: str, commit: str, parent: str | None = None) -> str:
    tags = {"mlflow.parentRunId": parent} if parent else None
    run = client.create_run("0", run_name=f"lr={lr}", tags=tags)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("auc", auc, 1000, 0)],
        params=[Param("lr", lr), Param("depth", "6")],
        tags=[RunTag("mlflow.source.git.commit", commit)],
    )
    client.log_inputs(run_id, [DatasetInput(Dataset("train", digest, "local", "/data/train.csv"))])
    client.set_terminated(run_id)
    return run_id


@pytest.fixture
def two_versions(client: dockyard.Client, registry: RegistryService, tmp_path: Path) -> list[str]:
    parent = client.create_run("0", run_name="sweep").info.run_id
    runs = [
        _run(client, "0.1", 0.90, "aaa111", "c0ffee", parent),
        _run(client, "0.2", 0.93, "bbb222", "c0ffee"),
    ]
    models = [
        write_model(tmp_path, "v1", ["scikit-learn==1.5.0", "numpy==2.0.0"]),
        write_model(tmp_path, "v2", ["scikit-learn==1.5.1", "numpy==2.0.0", "pandas==2.2.0"], extra_input="long"),
    ]
    registry.create_registered_model("churn")
    for run_id, model in zip(runs, models, strict=True):
        registry.create_model_version("churn", str(model), run_id=run_id)
    return [parent, *runs]


def test_lineage(cli: Callable[..., Result], two_versions: list[str]) -> None:
    parent, first, _ = two_versions
    found = json.loads(ok(cli("models", "lineage", "churn", "1", "--json")).stdout)["lineage"]
    assert (found["name"], found["version"], found["run"]["run_id"]) == ("churn", "1", first)
    assert found["run"]["params"] == {"depth": "6", "lr": "0.1"} and found["run"]["metrics"] == {"auc": 0.9}
    assert found["run"]["git"] == {"commit": "c0ffee"}
    assert [(d["name"], d["digest"]) for d in found["run"]["datasets"]] == [("train", "aaa111")]
    assert [p["run_id"] for p in found["parents"]] == [parent]
    lines = ok(cli("models", "lineage", "churn", "1")).stdout.splitlines()
    table = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in lines)
    assert table["run"] == f"{first} (lr=0.1)" and table["git commit"] == "c0ffee"
    assert (table["param lr"], table["metric auc"]) == ("0.1", "0.9")
    assert table["dataset train"] == "digest aaa111  /data/train.csv"
    assert table["parent 1"] == f"{parent} (sweep)"


def test_diff_flags_every_difference(cli: Callable[..., Result], two_versions: list[str]) -> None:
    result = json.loads(ok(cli("models", "diff", "churn", "1", "2", "--json")).stdout)
    assert result["versions"] == ["1", "2"] and result["notes"] == []
    rows = {(r["section"], r["key"]): (r["left"], r["right"], r["differs"]) for r in result["rows"]}
    assert rows[("param", "lr")] == ("0.1", "0.2", True)
    assert rows[("param", "depth")] == ("6", "6", False)
    assert rows[("metric", "auc")] == ("0.9", "0.93", True)
    assert rows[("requirement", "scikit-learn")] == ("scikit-learn==1.5.0", "scikit-learn==1.5.1", True)
    assert rows[("requirement", "numpy")][2] is False
    assert rows[("requirement", "pandas")] == (None, "pandas==2.2.0", True)
    assert rows[("signature", "inputs.x")][2] is False
    assert rows[("signature", "inputs.y")][0] is None and rows[("signature", "inputs.y")][2] is True
    assert rows[("dataset", "train")] == ("aaa111", "bbb222", True)
    assert rows[("git", "commit")] == ("c0ffee", "c0ffee", False)
    assert ("version", "run_id") in rows


def test_diff_table_marks_differences(cli: Callable[..., Result], two_versions: list[str]) -> None:
    lines = ok(cli("models", "diff", "churn", "1", "2")).stdout.splitlines()
    assert lines[0].split() == ["Section", "Key", "v1", "v2"]
    marked = {tuple(line.split()[1:3]) for line in lines[1:] if line.startswith("*")}
    assert ("param", "lr") in marked and ("param", "depth") not in marked
    assert lines[-1] == f"{len(marked)} differences between versions 1 and 2."
    changed = ok(cli("models", "diff", "churn", "1", "2", "--changed-only")).stdout.splitlines()
    assert all(line.startswith("*") for line in changed[1:-1]) and len(changed) == len(marked) + 2


def test_diff_notes_versions_without_model_files(
    cli: Callable[..., Result], registry: RegistryService, one_error_line: Callable[[Result], str]
) -> None:
    registry.create_registered_model("m")
    registry.create_model_version("m", "/nowhere/model")
    registry.create_model_version("m", "/nowhere/model")
    result = json.loads(ok(cli("models", "diff", "m", "1", "2", "--json")).stdout)
    assert len(result["notes"]) == 2 and "cannot read the model files" in result["notes"][0]
    assert not any(r["differs"] for r in result["rows"])
    assert "version" in one_error_line(cli("models", "diff", "m", "1", "9"))
