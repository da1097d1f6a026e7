"""Typical MLflow scripts, unchanged but for ``import dockyard as mlflow``, run as separate processes.

The scripts are ``examples/mlflow_scripts/*.py``; each asserts what it logged, registered, loaded and
found, and prints ``<name>: ok`` at the end. They run against the embedded store (a fresh folder each)
and, all in one go, against a real ``dockyard server --no-auth``; there the official ``mlflow`` client
then reads what the Dockyard scripts wrote (the run search's columns, a table, an image series). The
same files with MLflow's imports run under the official client against the server too, which shows they
are MLflow's scripts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.dockyard_process import dockyard_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "examples" / "mlflow_scripts").glob("*.py"))
# The order a team would run them in (each also stands alone).
# Eight scripts in a row, each a new Python process that imports pandas, scikit-learn (and mlflow): well
# past pytest's default limit of 300 s on a loaded 2-core machine.
SERVER_TEST_TIMEOUT = 1200
ORDER = ["tracking", "autolog", "log_model", "register", "alias", "load", "search", "artifacts"]


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "MLFLOW_"))}
    env.update(extra)
    return env


def _run(script: Path, cwd: Path, env: dict[str, str], *, warnings_are_errors: bool = True) -> str:
    # Dockyard's warnings are errors, as in the tests; MLflow's own (pandas deprecations) are not ours.
    flags = ["-W", "error"] if warnings_are_errors else []
    out = subprocess.run(
        [sys.executable, *flags, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, f"{script.name} failed:\n{out.stdout}\n{out.stderr}"
    assert f"{script.stem}: ok" in out.stdout
    return out.stdout


def test_every_script_is_in_the_list_and_the_readme() -> None:
    assert sorted(p.stem for p in SCRIPTS) == sorted(ORDER)
    readme = (ROOT / "examples" / "mlflow_scripts" / "README.md").read_text()
    for script in SCRIPTS:
        assert f"`{script.name}`" in readme
        text = script.read_text()
        assert "import dockyard as mlflow" in text
        # The only Dockyard names are in import lines: the rest is MLflow's code.
        body = [line for line in text.splitlines() if not line.startswith(("import ", "from "))]
        assert not [line for line in body if "dockyard" in line], script.name


@pytest.mark.parametrize("name", ORDER)
def test_script_runs_against_the_embedded_store(name: str, tmp_path: Path) -> None:
    _run(ROOT / "examples" / "mlflow_scripts" / f"{name}.py", tmp_path, _environment())
    assert (tmp_path / ".dockyard" / "dockyard.db").is_file()


# What the official client reads back from the server after the scripts ran (a separate process: mlflow
# keeps global state and threads of its own).
MLFLOW_READER = """
import json, sys
import mlflow
from mlflow import MlflowClient
frame = mlflow.search_runs(experiment_names=["search-script"], order_by=["metrics.rmse ASC"])
client = MlflowClient()
experiment = client.get_experiment_by_name("Default")
runs = client.search_runs([experiment.experiment_id], "tags.`mlflow.loggedImages` = 'True'")
run = runs[0]
table = client.load_table(experiment.experiment_id, "qabot_eval_results.json", run_ids=[run.info.run_id])
images = [f.path for f in client.list_artifacts(run.info.run_id, "images")]
text = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/file.txt")
version = client.get_model_version_by_alias("alias-demo", "champion")
print(json.dumps({
    "columns": list(frame.columns), "alphas": list(frame["params.alpha"]), "table_rows": len(table),
    "table_columns": list(table.columns), "images": len(images), "text": text, "champion": str(version.version),
}))
"""

DOCKYARD_READER = """
import json
import dockyard as mlflow
frame = mlflow.search_runs(experiment_names=["search-script"], order_by=["metrics.rmse ASC"])
print(json.dumps({"columns": list(frame.columns), "alphas": list(frame["params.alpha"])}))
"""


@pytest.mark.slow
@pytest.mark.timeout(SERVER_TEST_TIMEOUT)
def test_the_scripts_run_against_a_real_server_and_mlflow_reads_what_they_wrote(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    (tmp_path / "server").mkdir()
    with dockyard_server(tmp_path / "server") as server:
        work = tmp_path / "work"
        work.mkdir()
        env = _environment(DOCKYARD_TRACKING_URI=server.url)
        for name in ORDER:
            _run(ROOT / "examples" / "mlflow_scripts" / f"{name}.py", work, env)
        assert not (work / ".dockyard").exists()  # everything went to the server
        mlflow_env = _environment(MLFLOW_TRACKING_URI=server.url, MLFLOW_DISABLE_TELEMETRY="true")
        theirs = json.loads(_read(MLFLOW_READER, work, mlflow_env))
        ours = json.loads(_read(DOCKYARD_READER, work, env))
    # MLflow orders the columns inside each group as a Python set iterates (it varies from run to run);
    # Dockyard sorts them. The fixed columns, the groups' order and each group's columns are the same.
    assert ours["columns"][:6] == theirs["columns"][:6]
    assert _groups(ours["columns"][6:]) == _groups(theirs["columns"][6:])
    assert set(ours["columns"]) == set(theirs["columns"])
    assert ours["alphas"] == theirs["alphas"] == ["1.0", "0.5", "0.1"]
    assert theirs["table_rows"] == 4 and theirs["table_columns"] == ["inputs", "outputs", "toxicity"]
    assert theirs["images"] == 2
    assert theirs["text"] == "This is a sentence"
    assert theirs["champion"] == "2"


def as_mlflow_script(text: str) -> str:
    """The script with its imports turned back into MLflow's: what it was before it moved."""
    lines = []
    for line in text.splitlines():
        if line == "import dockyard as mlflow":
            line = "import mlflow"
        elif line.startswith(("from dockyard.", "from dockyard import")):
            line = "from mlflow" + line[len("from dockyard") :]
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.mark.slow
@pytest.mark.timeout(SERVER_TEST_TIMEOUT)
def test_the_scripts_are_mlflow_scripts_the_official_client_runs_against_the_server(tmp_path: Path) -> None:
    """The same files with MLflow's imports, run by the official ``mlflow`` client against ``dockyard
    server``: the scripts are MLflow's, and the server answers them as MLflow's does."""
    pytest.importorskip("mlflow")
    (tmp_path / "server").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    with dockyard_server(tmp_path / "server") as server:
        env = _environment(MLFLOW_TRACKING_URI=server.url, MLFLOW_DISABLE_TELEMETRY="true")
        for name in ORDER:
            script = work / f"{name}.py"
            script.write_text(as_mlflow_script((ROOT / "examples" / "mlflow_scripts" / f"{name}.py").read_text()))
            assert "dockyard" not in script.read_text()
            _run(script, work, env, warnings_are_errors=False)


def _groups(columns: list[str]) -> list[str]:
    """The column groups in order of appearance: ``["metrics", "params", "tags"]``."""
    seen: list[str] = []
    for column in columns:
        group = column.split(".", 1)[0]
        if group not in seen:
            seen.append(group)
    return seen


def _read(code: str, cwd: Path, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]
