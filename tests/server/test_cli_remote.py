"""The CLI pointed at a server: `dockyard runs ... --tracking-uri http://...` uses the remote client."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import dockyard
from dockyard.cli import main

from server.dockyard_process import dockyard_server


def test_runs_list_and_show_through_a_server(tmp_path: Path) -> None:
    with dockyard_server(tmp_path) as server:
        client = dockyard.Client(server.url)
        run_id = client.create_run("0", run_name="remote-run").info.run_id
        client.log_metric(run_id, "auc", 0.91)
        client.set_terminated(run_id)
        runner = CliRunner()
        listed = runner.invoke(main, ["runs", "list", "--tracking-uri", server.url, "--json"])
        assert listed.exit_code == 0, listed.output
        assert [r["info"]["run_id"] for r in json.loads(listed.output)["runs"]] == [run_id]
        shown = runner.invoke(main, ["runs", "show", run_id, "--tracking-uri", server.url])
        assert shown.exit_code == 0 and "remote-run" in shown.output and "0.91" in shown.output
        missing = runner.invoke(main, ["runs", "show", "f" * 32, "--tracking-uri", server.url])
        assert missing.exit_code == 1
        assert missing.output.strip() == f"Error: Run with id={'f' * 32} not found"
