"""The REST API's handling of bad input, against the in-process app: always a 4xx with the error
envelope naming the field, nothing stored, never a 5xx for a client error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.artifacts import LocalArtifactStore
from dockyard.core.config import Settings
from dockyard.db import Database
from dockyard.server.app import create_app
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore

API = "/api/2.0/mlflow"


@pytest.fixture
def app_parts(tmp_path: Path) -> Iterator[tuple[TestClient, TrackingService, Path]]:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    service = TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:"))
    destination = tmp_path / "destination"
    settings = Settings.from_env({"DOCKYARD_MAX_REQUEST_BYTES": "4096"}, cwd=tmp_path)
    app = create_app(settings, tracking=service, artifacts=LocalArtifactStore(destination))
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http, service, destination
    db.dispose()


@pytest.fixture
def http(app_parts: tuple[TestClient, TrackingService, Path]) -> TestClient:
    return app_parts[0]


def _run(http: TestClient) -> str:
    return str(http.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"])


def _envelope(response: Any, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    for word in words:
        assert word in body["message"], body["message"]


def test_malformed_json(http: TestClient) -> None:
    response = http.post(f"{API}/runs/create", content=b"{not json", headers={"content-type": "application/json"})
    _envelope(response, 400, "INVALID_PARAMETER_VALUE", "not valid JSON")
    response = http.post(f"{API}/runs/create", content=b"[1, 2]", headers={"content-type": "application/json"})
    _envelope(response, 400, "INVALID_PARAMETER_VALUE", "JSON object")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/plain;charset=json", "application/x-www-form-urlencoded", None]
)
def test_a_body_that_is_not_application_json_is_415_and_creates_nothing(
    app_parts: tuple[TestClient, TrackingService, Path], content_type: str | None
) -> None:
    """What a browser sends cross-site without a CORS preflight: refused before the handler runs."""
    http, service, _ = app_parts
    headers = {} if content_type is None else {"content-type": content_type}
    response = http.post(f"{API}/experiments/create", content=b'{"name": "forged"}', headers=headers)
    _envelope(response, 415, "BAD_REQUEST", "Content-Type must be application/json")
    assert service.get_experiment_by_name("forged") is None


def test_application_json_with_a_charset_and_empty_bodies_are_accepted(http: TestClient) -> None:
    headers = {"content-type": "Application/JSON; charset=utf-8"}
    assert http.post(f"{API}/experiments/create", content=b'{"name": "e"}', headers=headers).status_code == 200
    # MLflow's clients send some calls with no body (and no content type): nothing to forge there.
    response = http.post(f"{API}/experiments/create", content=b"")
    _envelope(response, 400, "INVALID_PARAMETER_VALUE", "name")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/experiments/create", {}, "name"),
        ("/experiments/create", {"name": ["x"]}, "name"),
        ("/runs/create", {"experiment_id": "0", "start_time": "yesterday"}, "start_time"),
        ("/runs/log-metric", {"key": "m", "value": 1}, "run_id"),
        ("/runs/search", {"experiment_ids": ["0"], "max_results": "many"}, "max_results"),
        ("/runs/search", {"experiment_ids": "0,1"}, "experiment_ids"),
        ("/runs/search", {"experiment_ids": ["0"], "filter": "metrics.x >"}, "position"),
        ("/experiments/search", {"view_type": "SOMETIMES"}, "view_type"),
        ("/logged-models", {"experiment_id": "0", "params": "p=1"}, "params"),
    ],
)
def test_wrong_types_and_missing_fields_name_the_field(http: TestClient, path: str, body: dict, field: str) -> None:  # type: ignore[type-arg]
    _envelope(http.post(API + path, json=body), 400, "INVALID_PARAMETER_VALUE", field)


def test_wrong_types_inside_a_batch_store_nothing(app_parts: tuple[TestClient, TrackingService, Path]) -> None:
    http, service, _ = app_parts
    run_id = _run(http)
    body = {
        "run_id": run_id,
        "metrics": [
            {"key": "ok", "value": 1.0, "timestamp": 1, "step": 0},
            {"key": "bad", "value": "high", "timestamp": 1},
        ],
        "params": [{"key": "p", "value": "1"}],
    }
    _envelope(http.post(f"{API}/runs/log-batch", json=body), 400, "INVALID_PARAMETER_VALUE", "metrics[1].value")
    run = service.get_run(run_id)
    assert run.data.metrics == {} and run.data.params == {}


def test_unknown_ids(http: TestClient) -> None:
    missing = "f" * 32
    _envelope(http.get(f"{API}/runs/get", params={"run_id": missing}), 404, "RESOURCE_DOES_NOT_EXIST", missing)
    _envelope(http.get(f"{API}/experiments/get", params={"experiment_id": "777"}), 404, "RESOURCE_DOES_NOT_EXIST")
    _envelope(http.get(f"{API}/logged-models/m-{missing}"), 404, "RESOURCE_DOES_NOT_EXIST")
    _envelope(
        http.get(f"{API}/metrics/get-history", params={"run_id": missing, "metric_key": "m"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


def test_body_over_the_limit_is_413_and_stores_nothing(app_parts: tuple[TestClient, TrackingService, Path]) -> None:
    http, service, _ = app_parts
    run_id = _run(http)
    body = {"run_id": run_id, "params": [{"key": f"p{i}", "value": "x" * 100} for i in range(60)]}
    response = http.post(f"{API}/runs/log-batch", json=body)
    _envelope(response, 413, "BAD_REQUEST", "limit of 4096 bytes")
    assert service.get_run(run_id).data.params == {}


def test_chunked_body_over_the_limit_is_refused_without_content_length(http: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = http.post(f"{API}/experiments/create", content=chunks(), headers={"content-type": "application/json"})
    _envelope(response, 413, "BAD_REQUEST", "limit")


def test_artifact_uploads_are_not_limited_by_the_json_cap(
    app_parts: tuple[TestClient, TrackingService, Path],
) -> None:
    http, _, destination = app_parts
    response = http.put("/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/big.bin", content=b"x" * 100_000)
    assert response.status_code == 200
    assert (destination / "0" / "r" / "artifacts" / "big.bin").stat().st_size == 100_000


@pytest.mark.parametrize(
    "path",
    ["0/r/../../../etc/passwd", "0/r/%2e%2e/%2e%2e/x", "..%2fescape"],
)
def test_artifact_paths_escaping_the_root_are_refused(
    app_parts: tuple[TestClient, TrackingService, Path], path: str
) -> None:
    http, _, destination = app_parts
    url = "/api/2.0/mlflow-artifacts/artifacts/" + path
    response = http.put(url, content=b"x")
    assert 400 <= response.status_code < 500
    if response.headers.get("content-type", "").startswith("application/json"):
        assert response.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    assert not (destination.parent / "etc").exists() and not (destination.parent / "escape").exists()
    listing = http.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "../"})
    _envelope(listing, 400, "INVALID_PARAMETER_VALUE")
    assert listing.json()["message"] == "Invalid path"  # exactly MLflow's words


def test_missing_artifact_is_404(http: TestClient) -> None:
    response = http.get("/api/2.0/mlflow-artifacts/artifacts/0/nothing/here.txt")
    _envelope(response, 404, "RESOURCE_DOES_NOT_EXIST", "here.txt")
    assert http.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "0/nothing"}).json() == {}


def test_unknown_route_is_a_plain_404(http: TestClient) -> None:
    response = http.get(f"{API}/no/such/endpoint")
    assert response.status_code == 404
    assert not response.headers.get("content-type", "").startswith("application/json")


GARBAGE: list[Any] = [None, 0, -1, 1.5, "", "x" * 300, [], ["a"], {}, {"k": "v"}, True, "NaN", 2**70]


def test_garbage_in_every_field_never_gives_a_5xx(http: TestClient) -> None:
    """Every JSON endpoint, every garbage value in each field: a client error, never a server error."""
    run_id = _run(http)
    model = http.post(f"{API}/logged-models", json={"experiment_id": "0"}).json()["model"]["info"]["model_id"]
    endpoints: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/experiments/create", {"name": "e", "artifact_location": "", "tags": []}),
        ("POST", "/experiments/search", {"max_results": 10, "filter": "", "order_by": [], "view_type": "ALL"}),
        ("POST", "/experiments/update", {"experiment_id": "0", "new_name": "n"}),
        ("POST", "/experiments/set-experiment-tag", {"experiment_id": "0", "key": "k", "value": "v"}),
        ("POST", "/runs/create", {"experiment_id": "0", "run_name": "r", "start_time": 1, "tags": []}),
        ("POST", "/runs/update", {"run_id": run_id, "status": "RUNNING", "end_time": 1}),
        ("POST", "/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}),
        ("POST", "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "v"}),
        ("POST", "/runs/set-tag", {"run_id": run_id, "key": "t", "value": "v"}),
        ("POST", "/runs/log-batch", {"run_id": run_id, "metrics": [], "params": [], "tags": []}),
        ("POST", "/runs/log-inputs", {"run_id": run_id, "datasets": []}),
        ("POST", "/runs/search", {"experiment_ids": ["0"], "filter": "", "max_results": 5, "order_by": []}),
        ("POST", "/runs/outputs", {"run_id": run_id, "models": []}),
        ("POST", "/logged-models", {"experiment_id": "0", "name": "m", "params": [], "tags": []}),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "max_results": 5, "order_by": []}),
        ("PATCH", f"/logged-models/{model}", {"status": "LOGGED_MODEL_READY"}),
    ]
    for method, path, valid in endpoints:
        for field in valid:
            for value in GARBAGE:
                body = {**valid, field: value}
                response = http.request(
                    method, API + path, content=json.dumps(body), headers={"content-type": "application/json"}
                )
                assert response.status_code < 500, (method, path, field, value, response.text)
    for path in ("/runs/get", "/experiments/get", "/metrics/get-history", "/experiments/get-by-name"):
        for value in GARBAGE:
            response = http.get(
                API + path,
                params={
                    "run_id": str(value),
                    "experiment_id": str(value),
                    "metric_key": str(value),
                    "experiment_name": str(value),
                },
            )
            assert response.status_code < 500, (path, value, response.text)
