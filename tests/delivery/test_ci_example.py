"""examples/ci end to end: the first candidate is promoted, a degraded one is stopped by the gate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dockyard

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "examples" / "ci" / "pipeline.py"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_"))}
    return subprocess.run(
        [sys.executable, str(PIPELINE), "--tracking-uri", str(tmp_path / "store"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_ci_pipeline_promotes_a_good_candidate_and_stops_a_degraded_one(tmp_path: Path) -> None:
    first = _run(tmp_path, "--summary", "one.md")
    assert first.returncode == 0, first.stderr
    assert "promoted ci-churn version 1 to champion" in first.stdout
    assert (tmp_path / "one.md").read_text().startswith("### Validation of `ci-churn` version 1: passed")

    degraded = _run(tmp_path, "--summary", "two.md", "--degrade")
    assert degraded.returncode == 1, degraded.stderr
    assert "FAIL  roc_auc >= baseline - 0.01" in degraded.stdout
    assert "not promoted: failed roc_auc >= 0.75; roc_auc >= baseline - 0.01" in degraded.stderr
    summary = (tmp_path / "two.md").read_text()
    assert "**failed**" in summary and "| `roc_auc >= baseline - 0.01` |" in summary and "❌ fail" in summary

    registry = dockyard.Client(str(tmp_path / "store")).registry
    assert registry.get_model_version_by_alias("ci-churn", "champion").version == 1
    assert [v.passed for v in registry.list_validations("ci-churn")] == [False, True]

    bad = _run(tmp_path, "--model", "bad name/with slash")
    assert bad.returncode == 2 and bad.stderr.startswith("Error: ")
