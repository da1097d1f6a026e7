"""``dockyard.validate`` against a real ``dockyard server``: the model, its profile and the report go through
the artifact proxy, the tags and the validation record through the registry API, and the gate the server
enforces reads that record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import dockyard
import dockyard.sklearn
from dockyard.core.errors import GateRefused

from server.dockyard_process import Server


def test_validate_records_on_a_server_and_its_gate_reads_the_record(server: Server, tmp_path: Path) -> None:
    dockyard.set_tracking_uri(server.url)
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = (x["a"] + 0.3 * rng.normal(size=400) > 0).astype(int)
    dockyard.set_experiment("remote-validation")
    with dockyard.start_run():
        dockyard.sklearn.log_model(
            LogisticRegression().fit(x, y), name="model", input_example=x.head(2), training_data=x,
            registered_model_name="remote-churn",
        )  # fmt: skip
    client = dockyard.Client(server.url)
    client.registry.set_gate("remote-churn", ["roc_auc >= 0.99"], alias="champion")
    data = tmp_path / "holdout.csv"
    x.assign(label=y).to_csv(data, index=False)

    result = dockyard.validate("models:/remote-churn/1", str(data), "label", ["roc_auc >= 0.99"], latency_rows=5)
    assert not result.passed and result.record is not None and result.report_uri is not None
    run_id, folder = result.report_uri.split("/", 2)[1:]
    assert {a.path.rsplit("/", 1)[-1] for a in client.list_artifacts(run_id, folder)} == {
        "validation.json",
        "validation.html",
    }
    assert client.get_model_version("remote-churn", 1).tags["validation.status"] == "failed"
    with pytest.raises(GateRefused, match=r"roc_auc >= 0\.99' of alias 'champion' failed"):
        client.set_registered_model_alias("remote-churn", "champion", 1)
    assert client.registry.list_validations("remote-churn", 1)[0].validation_id == result.record.validation_id
