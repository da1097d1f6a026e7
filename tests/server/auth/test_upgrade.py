"""A store used without auth keeps all its data when a server starts on it with ``--auth``."""

from __future__ import annotations

from pathlib import Path

from dockyard.db import Database
from dockyard.lifecycle.client import Client
from dockyard.server.auth.entities import Permission

from .conftest import PASSWORD, basic, make_server

API = "/api/2.0/mlflow"


def test_an_unauthenticated_store_keeps_its_data_under_auth(tmp_path: Path) -> None:
    before = Client(str(tmp_path / "auth.db"))
    experiment_id = before.create_experiment("from-before")
    run = before.create_run(experiment_id)
    before.log_metric(run.info.run_id, "loss", 0.25)
    before.create_registered_model("old-model")
    before.close()
    Database(f"sqlite:///{tmp_path / 'auth.db'}").dispose()

    for server in make_server(tmp_path, Permission.READ):
        server.auth.create_user("reader", PASSWORD)
        got = server.http.get(f"{API}/runs/get?run_id={run.info.run_id}", headers=basic("admin")).json()
        assert got["run"]["data"]["metrics"][0]["value"] == 0.25
        # With READ as the default, every user reads what was made before auth; nobody else may write.
        as_reader = server.http.get(f"{API}/registered-models/get?name=old-model", headers=basic("reader"))
        assert as_reader.status_code == 200
        denied = server.http.post(
            f"{API}/runs/log-metric",
            json={"run_id": run.info.run_id, "key": "loss", "value": 1, "timestamp": 1},
            headers=basic("reader"),
        )
        assert denied.status_code == 403
