"""Every example runs, and every public name is documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import dockyard

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_runs(example: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    out = subprocess.run(
        [sys.executable, str(example)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / ".dockyard" / "dockyard.db").is_file()


def test_quickstart_prints_what_it_logged(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "holds 3 runs" in out
    run_id = re.search(r"run id\s+([0-9a-f]{32})", out).group(1)  # type: ignore[union-attr]
    run = dockyard.Client(str(tmp_path / ".dockyard")).get_run(run_id)
    assert run.data.params["epochs"] == "30"
    assert f"valid_acc={run.data.metrics['valid_acc']:.4f}" in out


def test_every_public_name_is_documented() -> None:
    text = (ROOT / "docs" / "tracking.md").read_text()
    internal = {
        "errors",
        "data",
        "Settings",
        "__version__",
        "ActiveRun",
        "Experiment",
        "Metric",
        "Param",
        "Run",
        "RunStatus",
        "RunTag",
        "Dataset",
    }
    missing = [n for n in dockyard.__all__ if n not in internal and f"`{n}" not in text and f" {n}(" not in text]
    assert missing == []
