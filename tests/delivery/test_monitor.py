"""``dockyard monitor`` on a real scoring server's prediction log: quiet on traffic like the training data,
an alarm on shifted traffic, live metrics from labels joined by request id, and --rollback-on-drift moving
the alias back, which the scoring server following the alias then switches to."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx2
import pandas as pd
from click.testing import CliRunner

import dockyard
from dockyard.cli import main
from dockyard.delivery.monitor import monitor
from serving.scoring_process import scoring_server

from .conftest import Registered, encode, make_frame

SWITCH_TIMEOUT = 60.0


def _send(url: str, frame: pd.DataFrame, prefix: str, per_request: int = 1) -> None:
    with httpx2.Client(base_url=url, timeout=30) as http:
        for start in range(0, len(frame), per_request):
            chunk = frame.iloc[start : start + per_request]
            body = {"dataframe_split": {"columns": list(chunk.columns), "data": chunk.to_numpy().tolist()}}
            answer = http.post("/invocations", json=body, headers={"X-Request-Id": f"{prefix}-request-{start:04d}"})
            assert answer.status_code == 200, answer.text


def _logged(folder: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while sum(len(p.read_text().splitlines()) for p in folder.glob("*.jsonl")) < count:
        assert time.monotonic() < deadline, "the prediction log did not catch up"
        time.sleep(0.1)


def test_monitoring_a_served_alias_and_rolling_it_back(churn: Registered, tmp_path: Path) -> None:
    client = dockyard.Client(churn.store)
    client.set_registered_model_alias("churn", "champion", 1)
    client.set_registered_model_alias("churn", "champion", 2)
    log = tmp_path / "log"
    extra = ("--tracking-uri", churn.store, "--follow-interval", "0.2", "--prediction-log", str(log))
    with scoring_server("models:/churn@champion", tmp_path / "serve", extra=extra) as url:
        fresh = make_frame(20, 11)
        _send(url, encode(fresh), "fresh")
        _logged(log, 20)
        labels = tmp_path / "labels.csv"
        pd.DataFrame({"request_id": [f"fresh-request-{i:04d}" for i in range(20)], "label": fresh["default"]}).to_csv(
            labels, index=False
        )
        quiet = CliRunner().invoke(
            main,
            ["monitor", "models:/churn@champion", "--predictions", str(log), "--labels", str(labels), "--json",
             "--tracking-uri", churn.store],
        )  # fmt: skip
        assert quiet.exit_code == 0, quiet.output
        report = json.loads(quiet.output)
        assert report["alarm"] is False and report["rows"] == 20 and report["labelled"] == 20
        assert "live_accuracy" in report["metrics"] and report["drift"]["drifted"] == []

        shifted = make_frame(400, 12, shift=3.0)
        _send(url, encode(shifted), "shifted", per_request=20)
        _logged(log, 40)
        result = monitor("models:/churn@champion", log, rollback_alias="champion", client=client)
        assert result.alarm and result.exit_code == 1
        assert "income" in [c.column for c in result.drift.drifted]
        assert result.rolled_back_to == 1
        assert client.get_model_version_by_alias("churn", "champion").version == 1
        event = list(client.registry.get_registry_events("churn", alias="champion"))[-1]
        assert event.is_rollback and event.reason.startswith("monitoring: income drifted")

        deadline = time.monotonic() + SWITCH_TIMEOUT
        while httpx2.get(f"{url}/version", timeout=10).json()["model_version"] != "1":
            assert time.monotonic() < deadline, "the scoring server did not follow the rollback"
            time.sleep(0.2)

    # Both checks were logged to the version's monitoring run, one step each.
    run_id = client.get_model_version("churn", 2).tags["monitoring.run_id"]
    assert [m.step for m in client.get_metric_history(run_id, "max_psi")] == [0, 1]
