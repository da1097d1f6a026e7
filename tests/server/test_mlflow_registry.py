"""The official ``mlflow`` client's model registry calls against a real ``dockyard server`` process.

One server for the module (SQLite store, artifact proxy into a temporary folder), as in
``test_mlflow_client.py``. Each test uses model names of its own. No model files are needed for
registry calls; where a test downloads ``models:/...`` it logs a small ``MLmodel`` file first.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

# Importing mlflow starts its usage telemetry unless this is set first: no traffic leaves the machine.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from server.dockyard_process import Server


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _run_with_model_file(client: MlflowClient) -> str:
    """A finished run whose artifacts hold ``model/MLmodel`` (what ``register_model`` looks for)."""
    experiment_id = client.create_experiment(_name("registry-exp"))
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_text("artifact_path: model\nflavors: {}\n", "model/MLmodel")
    return str(run.info.run_id)


def _versions(client: MlflowClient, name: str, n: int, run_id: str) -> list[str]:
    return [client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id).version for _ in range(n)]


# ---------------------------------------------------------------------- registered models


def test_registered_model_lifecycle(client: MlflowClient) -> None:
    name = _name("rm")
    created = client.create_registered_model(name, tags={"team": "risk"}, description="first")
    assert (created.name, created.description, created.tags) == (name, "first", {"team": "risk"})
    assert created.creation_timestamp > 0
    fetched = client.get_registered_model(name)
    assert fetched.name == name and fetched.tags == {"team": "risk"}
    assert client.update_registered_model(name, description="second").description == "second"
    client.set_registered_model_tag(name, "stage", "dev")
    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {"stage": "dev"}
    client.rename_registered_model(name, name + "-v2")  # MlflowClient returns None here
    assert client.get_registered_model(name + "-v2").tags == {"stage": "dev"}
    with pytest.raises(MlflowException) as missing:
        client.get_registered_model(name)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as dup:
        client.create_registered_model(name + "-v2")
    assert dup.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.delete_registered_model(name + "-v2")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_registered_model(name + "-v2")


def test_bad_input_is_a_400_not_a_retried_5xx(client: MlflowClient, server: Server) -> None:
    with pytest.raises(MlflowException) as info:
        client.create_registered_model("a/b")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    name = _name("bad")
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as alias:
        client.set_registered_model_alias(name, "v1", "1")
    assert alias.value.error_code == "INVALID_PARAMETER_VALUE"
    for method, path, body in [
        ("POST", "/registered-models/create", {"name": ["a", "b"]}),
        ("POST", "/model-versions/create", {"name": name}),
        ("GET", "/model-versions/get", {"name": name, "version": "x"}),
        ("POST", "/model-versions/transition-stage", {"name": name, "version": "1", "stage": "Nowhere"}),
        ("GET", "/registered-models/search", {"max_results": "lots"}),
        ("GET", "/model-versions/search", {"filter": "name = "}),
    ]:
        url = f"{server.url}/api/2.0/mlflow{path}"
        response = requests.request(
            method, url, params=body if method == "GET" else None, json=None if method == "GET" else body, timeout=10
        )
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert "error_code" in response.json()


# ---------------------------------------------------------------------- versions


def test_model_version_lifecycle(client: MlflowClient) -> None:
    run_id = _run_with_model_file(client)
    name = _name("mv")
    client.create_registered_model(name)
    mv = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id, tags={"k": "v"}, description="d")
    assert (mv.name, mv.version, mv.run_id, mv.status, mv.current_stage) == (name, "1", run_id, "READY", "None")
    # The server records the version's file digest in reserved dockyard.* tags (docs/models.md#safe-loading).
    assert set(mv.tags) == {"k", "dockyard.model_digest", "dockyard.model_files"} and mv.description == "d"
    assert mv.tags["k"] == "v" and mv.tags["dockyard.model_digest"].startswith("sha256:")
    got = client.get_model_version(name, "1")
    assert (got.source, got.run_id) == (f"runs:/{run_id}/model", run_id)
    assert client.get_model_version_download_uri(name, "1").endswith(f"/{run_id}/artifacts/model")
    assert client.update_model_version(name, "1", description="better").description == "better"
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.delete_model_version_tag(name, "1", "k")
    tags = client.get_model_version(name, "1").tags
    assert {k: v for k, v in tags.items() if not k.startswith("dockyard.")} == {"validated": "yes"}
    _versions(client, name, 2, run_id)
    client.delete_model_version(name, "3")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_model_version(name, "3")
    assert client.create_model_version(name, "s3://bucket/m").version == "4"  # 3 is never reused


def test_register_model_from_a_run(client: MlflowClient) -> None:
    run_id = _run_with_model_file(client)
    name = _name("register")
    first = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert (first.name, first.version, first.run_id) == (name, "1", run_id)
    second = mlflow.register_model(f"runs:/{run_id}/model", name)  # the model exists: a new version
    assert second.version == "2"
    assert first.source.startswith("mlflow-artifacts:/") and first.source.endswith(f"{run_id}/artifacts/model")


def test_register_a_logged_model(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("logged-exp"))
    with mlflow.start_run(experiment_id=experiment_id) as run:
        logged = mlflow.initialize_logged_model(name="model", source_run_id=run.info.run_id)
    name = _name("logged")
    mv = mlflow.register_model(f"models:/{logged.model_id}", name)
    assert mv.source == f"models:/{logged.model_id}"
    assert mv.run_id == run.info.run_id  # filled in by the server from the logged model
    assert client.get_model_version_download_uri(name, mv.version) == logged.artifact_location


# ---------------------------------------------------------------------- aliases and stages


def test_aliases(client: MlflowClient, tmp_path: Path) -> None:
    run_id = _run_with_model_file(client)
    name = _name("alias")
    client.create_registered_model(name)
    _versions(client, name, 2, run_id)
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "shadow", "1")
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "2" and by_alias.aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": "2", "shadow": "1"}
    downloaded = mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=str(tmp_path))
    assert (Path(downloaded) / "MLmodel").read_text().startswith("artifact_path: model")
    client.delete_registered_model_alias(name, "shadow")
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(name, "shadow")
    client.delete_model_version(name, "2")  # takes its alias with it
    assert client.get_registered_model(name).aliases == {}


def test_alias_moves_are_in_the_audit_history(client: MlflowClient, server: Server) -> None:
    run_id = _run_with_model_file(client)
    name = _name("audit")
    client.create_registered_model(name)
    _versions(client, name, 3, run_id)
    for version in ("1", "2", "3"):
        client.set_registered_model_alias(name, "champion", version)
    response = requests.get(
        f"{server.url}/api/2.0/dockyard/registry/events", params={"name": name, "alias": "champion"}, timeout=10
    )
    assert response.status_code == 200
    moves = [(e.get("from_version"), e["to_version"]) for e in response.json()["events"]]
    assert moves == [(None, "1"), ("1", "2"), ("2", "3")]


# MLflow deprecates stages (since 2.9) but its client still sends them; these two calls warn by name.
@pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning")
@pytest.mark.filterwarnings("ignore:.*get_latest_versions.*:FutureWarning")
def test_stages_and_latest_versions(client: MlflowClient, tmp_path: Path) -> None:
    run_id = _run_with_model_file(client)
    name = _name("stages")
    client.create_registered_model(name)
    _versions(client, name, 3, run_id)
    assert client.transition_model_version_stage(name, "1", "production").current_stage == "Production"
    client.transition_model_version_stage(name, "2", "Staging")
    moved = client.transition_model_version_stage(name, "3", "Production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["3"]
    assert sorted(v.version for v in client.get_latest_versions(name)) == ["1", "2", "3"]
    assert sorted(v.version for v in client.get_registered_model(name).latest_versions) == ["1", "2", "3"]
    with pytest.raises(MlflowException) as info:
        client.transition_model_version_stage(name, "1", "Archived", archive_existing_versions=True)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    downloaded = mlflow.artifacts.download_artifacts(f"models:/{name}/Production", dst_path=str(tmp_path / "p"))
    assert (Path(downloaded) / "MLmodel").exists()
    downloaded = mlflow.artifacts.download_artifacts(f"models:/{name}/2", dst_path=str(tmp_path / "v"))
    assert (Path(downloaded) / "MLmodel").exists()


# ---------------------------------------------------------------------- search


def test_search_registered_models(client: MlflowClient) -> None:
    prefix = _name("search-rm")
    names = [f"{prefix}-{i}" for i in range(3)]
    for i, name in enumerate(names):
        client.create_registered_model(name, tags={"parity": "even" if i % 2 == 0 else "odd"})
    # MLflow's client adds ``tag.`mlflow.prompt.is_prompt` != 'true'`` to this filter: models without
    # that tag must still match.
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"])
    assert [m.name for m in found] == names[::-1]
    even = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%' AND tags.parity = 'even'")
    assert sorted(m.name for m in even) == [names[0], names[2]]
    page = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2, order_by=["name"])
    assert [m.name for m in page] == names[:2] and page.token
    rest = client.search_registered_models(
        filter_string=f"name LIKE '{prefix}-%'", max_results=2, order_by=["name"], page_token=page.token
    )
    assert [m.name for m in rest] == names[2:] and not rest.token
    assert [m.name for m in mlflow.search_registered_models(filter_string=f"name = '{names[1]}'")] == [names[1]]


def test_search_model_versions(client: MlflowClient) -> None:
    run_id = _run_with_model_file(client)
    other_run = _run_with_model_file(client)
    name = _name("search-mv")
    client.create_registered_model(name)
    _versions(client, name, 3, run_id)
    client.create_model_version(name, f"runs:/{other_run}/model", run_id=other_run, tags={"best": "yes"})
    found = client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    assert [v.version for v in found] == ["1", "2", "3", "4"]
    by_run = client.search_model_versions(f"name = '{name}' AND run_id = '{other_run}'")
    assert [v.version for v in by_run] == ["4"]
    tagged = client.search_model_versions(f"name = '{name}' AND tags.best = 'yes'")
    assert [v.version for v in tagged] == ["4"]
    newer = client.search_model_versions(f"name = '{name}' AND version_number > 2", order_by=["version_number"])
    assert [v.version for v in newer] == ["3", "4"]
    page = client.search_model_versions(f"name = '{name}'", max_results=3, order_by=["version_number DESC"])
    assert [v.version for v in page] == ["4", "3", "2"] and page.token
    rest = client.search_model_versions(
        f"name = '{name}'", max_results=3, order_by=["version_number DESC"], page_token=page.token
    )
    assert [v.version for v in rest] == ["1"] and not rest.token
    assert [
        v.version for v in mlflow.search_model_versions(filter_string=f"name = '{name}' AND run_id = '{run_id}'")
    ] == [
        "3",
        "2",
        "1",
    ]
