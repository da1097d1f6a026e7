"""Issue 12's MLflow behaviours against the in-process app (fast; ``tests/compat`` compares them with a
real ``mlflow server``): request validation in MLflow's words, model-version sources, download headers,
the UI's download and upload routes, bulk and sampled histories, dataset summaries and the logged-model
dataset filter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.artifacts import LocalArtifactStore
from dockyard.core.config import Settings
from dockyard.db import Database
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore
from dockyard.server.app import create_app
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
OCTETS = {"content-type": "application/octet-stream"}
DOCS = " See the API docs for more information about request parameters."
HINT = "Invalid value {} for parameter '{}' supplied:  Hint: Value was of type '{}'."


@dataclass
class App:
    http: TestClient
    tracking: TrackingService
    destination: Path

    def post(self, path: str, body: Any) -> Any:
        return self.http.post(API + path, json=body)

    def run(self, experiment_id: str = "0") -> str:
        return str(self.post("/runs/create", {"experiment_id": experiment_id}).json()["run"]["info"]["run_id"])


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    tracking = TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:"))
    registry = RegistryService(SqlRegistryStore(db), tracking=tracking, default_user=lambda: "unknown")
    destination = tmp_path / "destination"
    settings = Settings.from_env({}, cwd=tmp_path)
    server = create_app(settings, tracking=tracking, registry=registry, artifacts=LocalArtifactStore(destination))
    with TestClient(server, raise_server_exceptions=False) as http:
        yield App(http, tracking, destination)
    registry.close()
    db.dispose()


def _error(response: Any, status: int, message: str, code: str = "INVALID_PARAMETER_VALUE") -> None:
    assert response.status_code == status, response.text
    assert (response.json()["error_code"], response.json()["message"]) == (code, message)


# ---------------------------------------------------------------------- request validation


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/experiments/create", {"name": 123}, HINT.format("123", "name", "int")),
        ("/experiments/create", {}, "Missing value for required parameter 'name'."),
        ("/experiments/create", {"name": "x", "tags": {"a": 1}}, HINT.format('{"a":1}', "tags", "dict")),
        ("/runs/update", {"run_id": 42}, HINT.format("42", "run_id", "int")),
    ],
)
def test_wrong_types_and_missing_fields_get_mlflows_messages(app: App, path: str, body: Any, message: str) -> None:
    _error(app.post(path, body), 400, message + DOCS)
    assert app.tracking.get_experiment_by_name("123") is None


def test_a_metric_needs_a_timestamp_and_nothing_of_the_batch_is_stored(app: App) -> None:
    run_id = app.run()
    batch = {"run_id": run_id, "metrics": [{"key": "ok", "value": 1, "timestamp": 1}, {"key": "m", "value": 1}]}
    _error(
        app.post("/runs/log-batch", batch), 400, "Missing value for required parameter 'metrics[1].timestamp'." + DOCS
    )
    _error(
        app.post("/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1}),
        400,
        "Missing value for required parameter 'timestamp'." + DOCS,
    )
    assert app.tracking.get_run(run_id).data.metrics == {}


def test_messages_users_grep_for(app: App) -> None:
    run_id = app.run()
    _error(
        app.post("/runs/delete-tag", {"run_id": run_id, "key": "nope"}),
        404,
        f"No tag with name: nope in run with id {run_id}",
        "RESOURCE_DOES_NOT_EXIST",
    )
    app.post("/runs/delete", {"run_id": run_id})
    _error(
        app.post("/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v"}),
        400,
        f"The run {run_id} must be in the 'active' state. Current state is deleted.",
    )
    _error(
        app.post("/runs/search", {"experiment_ids": ["0"], "max_results": 0}),
        400,
        "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer",
    )
    _error(app.http.get(f"{API}/artifacts/list", params={"run_id": app.run(), "path": "a/../b"}), 400, "Invalid path")


# ---------------------------------------------------------------------- model-version sources


def test_a_runs_source_is_checked_against_run_id_only(app: App) -> None:
    app.post("/registered-models/create", {"name": "m"})
    ghost = "a" * 32
    made = app.post("/model-versions/create", {"name": "m", "source": f"runs:/{ghost}/model", "run_id": ghost})
    assert made.status_code == 200 and made.json()["model_version"]["run_id"] == ghost
    refused = f"Invalid model version source: 'runs:/{ghost}/model'. The run_id request parameter must identify the resource that contains the source."  # noqa: E501
    _error(
        app.post("/model-versions/create", {"name": "m", "source": f"runs:/{ghost}/model", "run_id": app.run()}),
        400,
        refused,
    )
    _error(app.post("/model-versions/create", {"name": "m", "source": f"runs:/{ghost}/model"}), 400, refused)
    logged = app.post("/logged-models", {"experiment_id": "0", "source_run_id": ghost})
    assert logged.json()["model"]["info"]["source_run_id"] == ghost


def test_a_version_of_a_logged_model_is_recorded_on_it_once(app: App) -> None:
    run_id = app.run()
    model_id = app.post("/logged-models", {"experiment_id": "0", "source_run_id": run_id}).json()["model"]["info"][
        "model_id"
    ]
    app.post("/registered-models/create", {"name": "m"})
    body = {"name": "m", "source": f"models:/{model_id}", "model_id": model_id, "run_id": run_id}
    assert app.post("/model-versions/create", body).status_code == 200
    assert app.post("/model-versions/create", body).status_code == 200
    tags = app.tracking.get_logged_model(model_id).tags
    assert json.loads(tags["mlflow.modelVersions"]) == [{"name": "m", "version": 1}, {"name": "m", "version": 2}]


# ---------------------------------------------------------------------- downloads and uploads


@pytest.mark.parametrize(
    ("name", "content_type", "disposition"),
    [
        ("notes.txt", "text/plain", "attachment; filename=notes.txt"),
        ("MLmodel", "text/plain", "attachment; filename=MLmodel"),
        ("plot.png", "image/png", "attachment; filename=plot.png"),
        ("weights.bin", "application/octet-stream", "attachment; filename=weights.bin"),
        ("my file.json", "text/plain", 'attachment; filename="my file.json"'),
        (
            "r\u00e9sum\u00e9.csv",
            "text/plain",
            "attachment; filename=resume.csv; filename*=UTF-8''r%C3%A9sum%C3%A9.csv",
        ),
    ],
)
def test_downloads_carry_the_type_and_name_mlflow_gives_them(
    app: App, name: str, content_type: str, disposition: str
) -> None:
    run_id = app.run()
    assert app.http.put(f"{PROXY}/0/{run_id}/artifacts/d/{name}", content=b"data").status_code == 200
    for response in (
        app.http.get(f"{PROXY}/0/{run_id}/artifacts/d/{name}", headers={"accept": "application/json"}),
        app.http.get("/get-artifact", params={"run_id": run_id, "path": f"d//{name}"}),
    ):
        assert response.status_code == 200, response.text
        assert response.content == b"data"
        assert response.headers["content-type"] == content_type
        assert response.headers["content-disposition"] == disposition
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_ui_upload(app: App) -> None:
    run_id = app.run()
    url = f"{AJAX}/upload-artifact"
    ok = app.http.post(url, params={"run_uuid": run_id, "path": "ui/a.txt"}, content=b"hello", headers=OCTETS)
    assert ok.status_code == 200, ok.text
    assert app.http.get("/get-artifact", params={"run_uuid": run_id, "path": "ui/a.txt"}).content == b"hello"
    _error(
        app.http.post(url, params={"run_uuid": run_id}, content=b"x", headers=OCTETS), 400, "Request must specify path."
    )
    _error(
        app.http.post(url, params={"path": "a"}, content=b"x", headers=OCTETS), 400, "Request must specify run_uuid."
    )
    query = {"run_uuid": run_id, "path": "b.txt"}
    _error(app.http.post(url, params=query, headers=OCTETS), 400, "Request must specify data.")
    big = b"0" * (10 * 1024 * 1024 + 1)
    _error(
        app.http.post(url, params=query, content=big, headers=OCTETS),
        400,
        "Artifact size is too large. Max size is 10MB.",
    )
    _error(app.http.post(url, params={**query, "path": "../b"}, content=b"x", headers=OCTETS), 400, "Invalid path")
    # What a page elsewhere could make a browser send without asking: refused, nothing written.
    forged = app.http.post(url, params=query, content=b"x", headers={"content-type": "text/plain"})
    assert forged.status_code == 415
    assert app.http.get("/get-artifact", params={"run_id": run_id, "path": "b.txt"}).status_code == 404


def test_a_version_is_read_from_the_artifact_roots_only(app: App, tmp_path: Path) -> None:
    run_id = app.run()
    app.http.put(f"{PROXY}/0/{run_id}/artifacts/model/MLmodel", content=b"flavors: {}\n")
    app.post("/registered-models/create", {"name": "m"})
    app.post("/model-versions/create", {"name": "m", "source": f"runs:/{run_id}/model", "run_id": run_id})
    got = app.http.get("/model-versions/get-artifact", params={"name": "m", "version": "1", "path": "MLmodel"})
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, b"flavors: {}\n", "text/plain")
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "passwd").write_text("secret-content")
    app.post("/model-versions/create", {"name": "m", "source": str(secret)})
    outside = app.http.get("/model-versions/get-artifact", params={"name": "m", "version": "2", "path": "passwd"})
    assert outside.status_code == 400 and "secret-content" not in outside.text


def test_a_logged_models_files(app: App) -> None:
    model_id = app.post("/logged-models", {"experiment_id": "0"}).json()["model"]["info"]["model_id"]
    app.http.put(f"{PROXY}/0/models/{model_id}/artifacts/MLmodel", content=b"x")
    app.http.put(f"{PROXY}/0/models/{model_id}/artifacts/sub/env.yaml", content=b"y")
    listing = app.http.get(f"{API}/logged-models/{model_id}/artifacts/directories").json()
    assert listing["root_uri"] == f"mlflow-artifacts:/0/models/{model_id}/artifacts"
    assert [(f["path"], f["is_dir"]) for f in listing["files"]] == [("MLmodel", False), ("sub", True)]
    sub = app.http.get(
        f"{API}/logged-models/{model_id}/artifacts/directories", params={"artifact_directory_path": "sub"}
    )
    assert [f["path"] for f in sub.json()["files"]] == ["sub/env.yaml"]
    files = f"{AJAX}/logged-models/{model_id}/artifacts/files"
    assert app.http.get(files, params={"artifact_file_path": "sub/env.yaml"}).content == b"y"
    _error(app.http.get(files), 400, 'Request must include the "artifact_file_path" query parameter.', "BAD_REQUEST")


# ---------------------------------------------------------------------- histories and datasets


def test_bulk_and_sampled_histories_refuse_as_mlflow_does(app: App) -> None:
    bulk, interval = f"{AJAX}/metrics/get-history-bulk", f"{API}/metrics/get-history-bulk-interval"
    run_id = app.run()
    _error(
        app.http.get(bulk, params={"metric_key": "m"}),
        400,
        "GetMetricHistoryBulk request must specify at least one run_id.",
    )
    _error(
        app.http.get(bulk, params={"run_id": run_id}), 400, "GetMetricHistoryBulk request must specify a metric_key."
    )
    many = {"run_id": [f"{i:032x}" for i in range(101)], "metric_key": "m"}
    _error(
        app.http.get(bulk, params=many),
        400,
        "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids.",
    )
    pair = {"run_ids": run_id, "metric_key": "m"}
    _error(
        app.http.get(interval, params={**pair, "max_results": 0}), 400, "max_results must be between 1 and 2500." + DOCS
    )
    _error(
        app.http.get(interval, params={**pair, "start_step": 1}),
        400,
        "If either start step or end step are specified, both must be specified.",
    )
    _error(
        app.http.get(interval, params={**pair, "start_step": 5, "end_step": 1}),
        400,
        "end_step must be greater than start_step. Found start_step=5 and end_step=1.",
    )
    assert app.http.get(bulk, params={"run_id": "c" * 32, "metric_key": "m"}).json() == {"metrics": []}


def test_dataset_summaries_and_the_logged_model_dataset_filter(app: App) -> None:
    experiment = app.post("/experiments/create", {"name": "ds"}).json()["experiment_id"]
    run_id = app.run(experiment)
    for context in ("training", "other"):  # logged again with another context: the first one stays
        dataset = {"name": "train", "digest": "d1", "source_type": "local", "source": "{}"}
        tags = [{"key": "mlflow.data.context", "value": context}]
        app.post("/runs/log-inputs", {"run_id": run_id, "datasets": [{"tags": tags, "dataset": dataset}]})
    summaries = app.http.post(f"{AJAX}/experiments/search-datasets", json={"experiment_ids": [experiment]}).json()
    assert summaries == {
        "dataset_summaries": [{"experiment_id": experiment, "name": "train", "digest": "d1", "context": "training"}]
    }
    _error(
        app.http.post(f"{AJAX}/experiments/search-datasets", json={"experiment_ids": [str(i) for i in range(21)]}),
        400,
        "SearchDatasets request cannot specify more than 20 experiment_ids. Received 21 experiment_ids.",
    )
    models = {}
    for name, digest in (("train", "d1"), ("eval", "d2"), (None, None)):
        model_id = app.post("/logged-models", {"experiment_id": experiment, "name": str(name)}).json()["model"]["info"][
            "model_id"
        ]
        models[name] = model_id
        if name is not None:
            metric = {"run_id": run_id, "key": "acc", "value": 0.5, "timestamp": 1, "model_id": model_id}
            app.post("/runs/log-metric", {**metric, "dataset_name": name, "dataset_digest": digest})

    def found(datasets: list[dict[str, str]], filter_string: str = "") -> set[str]:
        body = {"experiment_ids": [experiment], "datasets": datasets, "filter": filter_string}
        return {m["info"]["model_id"] for m in app.post("/logged-models/search", body).json().get("models", [])}

    assert found([{"dataset_name": "train", "dataset_digest": "d1"}]) == {models["train"]}
    assert found([{"dataset_name": "train", "dataset_digest": "d2"}]) == set()
    assert found(
        [{"dataset_name": "train", "dataset_digest": "d1"}, {"dataset_name": "eval", "dataset_digest": "d2"}]
    ) == {
        models["train"],
        models["eval"],
    }
    assert found([{"dataset_name": "eval", "dataset_digest": "d2"}], "metrics.acc > 0.4") == {models["eval"]}
    assert found([{"dataset_name": "eval", "dataset_digest": "d2"}], "metrics.acc > 0.6") == set()
