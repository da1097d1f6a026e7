"""The demo's closing message names web pages, and ``dockyard ui`` on the demo's store serves each of them."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner

from dockyard.cli import main
from dockyard.demo.run import MODEL_NAME

from server.dockyard_process import dockyard_process, free_port

pytest.importorskip("optuna")


def test_the_pages_the_demo_names_open_in_dockyard_ui(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = CliRunner().invoke(
        main,
        ["demo", "--rows", "800", "--trials", "1", "--max-iter", "5", "--no-serve", "--tracking-uri", str(store)],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "MLflow" not in out  # MLflow's UI cannot browse the store: the demo no longer says so
    command = re.search(r"run `DOCKYARD_TRACKING_URI=(\S+) dockyard ui`", out)
    assert command is not None, out
    paths = re.findall(r"http://127\.0\.0\.1:5000(/\S*)", out)
    experiment = re.search(r"experiment 'lending-club-demo' \(id (\w+)\)", out)
    assert experiment is not None
    model = f"/models/{MODEL_NAME}"
    assert paths[0] == f"/experiments/{experiment.group(1)}"
    assert paths[1].startswith("/runs/")
    assert paths[2:] == [f"{model}/versions/1", model]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DOCKYARD_TRACKING_URI": command.group(1)}
    with dockyard_process(
        ["ui", "--port", str(port)], tmp_path, tmp_path / "ui.log", f"{base}/health", env=env, timeout=60
    ):
        pages = {path: httpx2.get(base + path, timeout=30) for path in paths}
    for path, answer in pages.items():
        assert answer.status_code == 200, (path, answer.text[:2000])
    assert "lending-club-demo" in pages[paths[0]].text
    version = pages[f"{model}/versions/1"].text
    assert "<h1>lending-club-default" in version
    assert "MLmodel:" not in version  # the model's files were read: no note saying why they were not
    assert "loan_amnt" in version  # the signature and the input example
    assert "lending-club" in version and "training" in version  # the dataset the run logged
    assert "@champion" in pages[model].text
