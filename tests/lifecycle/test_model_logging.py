"""log_model / register_model / load_model through the tracking store and the registry (embedded)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LinearRegression

import dockyard
import dockyard.pyfunc
import dockyard.sklearn
from dockyard.core.errors import (
    GateRefused,
    InvalidModel,
    InvalidParameter,
    LoggedModelNotFound,
    ModelVersionNotFound,
    RegisteredModelNotFound,
    UnsupportedModel,
)
from dockyard.models import load_model

X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
MODEL = LinearRegression().fit(X, [1.0, 2.0, 3.0, 4.5])


@pytest.fixture
def client(tmp_path: Path) -> dockyard.Client:
    dockyard.set_tracking_uri(str(tmp_path / "store.db"))
    return dockyard.Client(str(tmp_path / "store.db"))


def _logged_models(client: dockyard.Client) -> list:
    return list(client.search_logged_models(["0"]).items)


def test_log_model_creates_a_ready_logged_model_linked_to_its_run(client: dockyard.Client) -> None:
    with dockyard.start_run() as run:
        info = dockyard.sklearn.log_model(MODEL, name="model", input_example=X.head(2), params={"alpha": 0.5})
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run.info.run_id
    logged = client.get_logged_model(info.model_id or "")
    assert logged.status.value == "LOGGED_MODEL_READY"
    assert logged.name == "model" and logged.source_run_id == run.info.run_id
    assert logged.params == {"alpha": "0.5"}
    assert [o.model_id for o in client.get_run(run.info.run_id).outputs] == [info.model_id]
    # MLflow 3's layout: <experiment root>/models/m-<id>/artifacts, and MLmodel says so.
    location = Path(logged.artifact_location)
    assert location.parts[-3:] == ("models", info.model_id, "artifacts")
    mlmodel = yaml.safe_load((location / "MLmodel").read_text())
    assert mlmodel["model_id"] == mlmodel["model_uuid"] == info.model_id
    assert mlmodel["run_id"] == run.info.run_id and mlmodel["artifact_path"] == logged.artifact_location


def test_every_uri_form_loads_the_same_model(client: dockyard.Client) -> None:
    with dockyard.start_run() as run:
        info = dockyard.sklearn.log_model(MODEL, name="model")
    expected = MODEL.predict(X)
    for uri in (
        info.model_uri,
        f"runs:/{run.info.run_id}/model",
        client.get_logged_model(info.model_id).artifact_location,
    ):
        np.testing.assert_allclose(load_model(uri).predict(X), expected)
    assert type(dockyard.sklearn.load_model(info.model_uri)) is LinearRegression


def test_runs_uri_takes_the_newest_logged_model_of_that_name(client: dockyard.Client) -> None:
    with dockyard.start_run() as run:
        dockyard.sklearn.log_model(MODEL, name="model")
        second = dockyard.sklearn.log_model(LinearRegression().fit(X, [0.0, 0.0, 0.0, 1.0]), name="model")
    assert load_model(f"runs:/{run.info.run_id}/model").model_id == second.model_id


def test_runs_uri_falls_back_to_run_artifacts(client: dockyard.Client, tmp_path: Path) -> None:
    dockyard.sklearn.save_model(MODEL, tmp_path / "saved")
    with dockyard.start_run() as run:
        dockyard.log_artifacts(str(tmp_path / "saved"), "legacy/model")
    np.testing.assert_allclose(load_model(f"runs:/{run.info.run_id}/legacy/model").predict(X), MODEL.predict(X))
    with pytest.raises(InvalidModel, match="missing file MLmodel"):
        load_model(f"runs:/{run.info.run_id}/nothing-here")


def test_log_model_starts_a_run_when_none_is_active(client: dockyard.Client) -> None:
    info = dockyard.sklearn.log_model(MODEL, name="m")
    active = dockyard.active_run()
    assert active is not None and info.run_id == active.info.run_id


def test_a_model_that_fails_to_save_leaves_nothing_in_the_store(client: dockyard.Client) -> None:
    with dockyard.start_run():
        with pytest.raises(UnsupportedModel):
            dockyard.sklearn.log_model(object(), name="m")
        with pytest.raises(InvalidParameter, match="code_paths"):
            dockyard.sklearn.log_model(MODEL, name="m", code_paths=["/no/such/file.py"])
        with pytest.raises(InvalidParameter, match="name"):
            dockyard.sklearn.log_model(MODEL, name="../escape")
    assert _logged_models(client) == []


def test_a_failed_upload_removes_the_logged_model(client: dockyard.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.artifacts.local import LocalArtifactStore

    def broken(self: object, local_dir: object, artifact_path: object = None) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(LocalArtifactStore, "log_dir", broken)
    with dockyard.start_run() as run, pytest.raises(OSError, match="disk full"):
        dockyard.sklearn.log_model(MODEL, name="m")
    assert _logged_models(client) == []
    assert client.get_run(run.info.run_id).outputs == ()


def test_unknown_logged_model() -> None:
    with pytest.raises(LoggedModelNotFound):
        load_model("models:/m-" + "0" * 32)


def test_registered_model_uris(client: dockyard.Client) -> None:
    from dockyard.registry.backends import open_registry

    with dockyard.start_run():
        first = dockyard.sklearn.log_model(MODEL, name="model", registered_model_name="churn")
        second = dockyard.pyfunc.log_model("model", python_model=lambda rows: "v2", registered_model_name="churn")
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    registry = open_registry(client.settings)
    version = registry.get_model_version("churn", 1)
    assert version.source == f"models:/{first.model_id}" and version.model_id == first.model_id
    tag = client.get_logged_model(first.model_id).tags["mlflow.modelVersions"]
    assert json.loads(tag) == [{"name": "churn", "version": 1}]

    registry.set_registered_model_alias("churn", "champion", 1)
    registry.transition_model_version_stage("churn", 2, "Staging")
    assert load_model("models:/churn/1").model_id == first.model_id
    assert load_model("models:/churn@champion").model_id == first.model_id
    assert load_model("models:/churn/Staging", allow_pickle=True).model_id == second.model_id  # a pyfunc pickle
    assert load_model("models:/churn/latest", allow_pickle=True).predict([1]) == "v2"
    with pytest.raises(ModelVersionNotFound, match="no version in stage Production"):
        load_model("models:/churn/Production")
    with pytest.raises(RegisteredModelNotFound):
        load_model("models:/nope/1")


def test_register_model_from_a_runs_uri_links_the_logged_model(client: dockyard.Client) -> None:
    from dockyard.lifecycle.model_logging import register_model
    from dockyard.registry.backends import open_registry

    with dockyard.start_run() as run:
        info = dockyard.sklearn.log_model(MODEL, name="model")
    assert register_model(f"runs:/{run.info.run_id}/model", "churn").version == 1
    version = open_registry(client.settings).get_model_version("churn", 1)
    assert version.source == f"models:/{info.model_id}" and version.run_id == run.info.run_id


def test_registry_lookup_seam_with_any_registry(tmp_path: Path, client: dockyard.Client) -> None:
    """The models package only needs (name, version|alias|stage|latest) -> source: any registry fits."""
    from dockyard.lifecycle.resolution import ModelResolver

    dockyard.sklearn.save_model(MODEL, tmp_path / "v7")
    seen = []

    def lookup(parsed: object) -> tuple[str, int]:
        seen.append(parsed)
        return str(tmp_path / "v7"), 7

    resolver = ModelResolver(client, registry=lookup)
    assert resolver.fetch("models:/anything@prod") == tmp_path / "v7"
    assert [(p.name, p.alias) for p in seen] == [("anything", "prod")]

    def loop(parsed: object) -> tuple[str, int]:
        return "models:/anything/1", 1

    with pytest.raises(InvalidParameter, match="loop"):
        ModelResolver(client, registry=loop).fetch("models:/anything/1")


def test_client_has_mlflow_client_registry_methods(client: dockyard.Client) -> None:
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(MODEL, name="model", registered_model_name="fraud")
    client.set_registered_model_alias("fraud", "champion", 1)
    assert client.get_model_version_by_alias("fraud", "champion").model_id == info.model_id
    assert [m.name for m in client.search_registered_models().items] == ["fraud"]
    assert "transition_model_version_stage" in dir(client)
    with pytest.raises(AttributeError, match="no attribute 'not_a_method'"):
        client.not_a_method  # noqa: B018


def test_client_promote_forces_past_a_gate_with_a_reason(client: dockyard.Client) -> None:
    with dockyard.start_run():
        dockyard.sklearn.log_model(MODEL, name="model", registered_model_name="gated")
    client.registry.set_gate("gated", ["roc_auc >= 0.8"], alias="champion")
    with pytest.raises(GateRefused, match=r"rule 'roc_auc >= 0\.8' of alias 'champion': version 1 has no validation"):
        client.promote("gated", 1, alias="champion", reason="no evidence")
    with pytest.raises(InvalidParameter, match="a forced promotion needs a reason"):
        client.promote("gated", 1, alias="champion", force=True)
    assert client.promote("gated", 1, alias="champion", reason="incident 42", force=True).aliases == ("champion",)
    (event,) = client.get_registry_events("gated", alias="champion")
    assert event.reason is not None and event.reason.startswith("forced past the gate (rule 'roc_auc >= 0.8'")
    assert event.reason.endswith(": incident 42")


@pytest.mark.parametrize("synchronous", [True, False])
def test_metrics_logged_against_a_model(client: dockyard.Client, synchronous: bool) -> None:
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(MODEL, name="model")
        dockyard.log_metric("rmse", 0.25, model_id=info.model_id, synchronous=synchronous)
        dockyard.log_metrics({"mae": 0.5}, model_id=info.model_id, synchronous=synchronous)
    metrics = {m.key: m.value for m in client.get_logged_model(info.model_id).metrics}
    assert metrics == {"rmse": 0.25, "mae": 0.5}
