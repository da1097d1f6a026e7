"""The registry REST API's handling of bad input, against the in-process app: a 4xx with MLflow's
error envelope, nothing changed, never a 5xx for a client error; and the routes exist only when the
app has a registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.core.config import Settings
from dockyard.db import Database
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore
from dockyard.server.app import create_app
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore

API = "/api/2.0/mlflow"
GARBAGE: list[Any] = [None, 0, -1, 1.5, "", "x" * 300, [], ["a"], {}, {"k": "v"}, True, "NaN", 2**70]


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[TestClient, RegistryService]]:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    tracking = TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:"))
    registry = RegistryService(SqlRegistryStore(db), tracking=tracking, default_user=lambda: "unknown")
    app = create_app(Settings.from_env({}, cwd=tmp_path), tracking=tracking, registry=registry)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http, registry
    db.dispose()


def _send(http: TestClient, method: str, path: str, body: dict[str, Any]) -> Any:
    if method == "GET":
        return http.get(API + path, params={k: str(v) for k, v in body.items()})
    return http.request(method, API + path, content=json.dumps(body), headers={"content-type": "application/json"})


def test_garbage_in_every_field_never_gives_a_5xx(parts: tuple[TestClient, RegistryService]) -> None:
    http, registry = parts
    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://b/m")
    endpoints: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/registered-models/create", {"name": "n", "tags": [], "description": "d"}),
        ("PATCH", "/registered-models/update", {"name": "m", "description": "d"}),
        ("POST", "/registered-models/set-tag", {"name": "m", "key": "k", "value": "v"}),
        ("POST", "/registered-models/get-latest-versions", {"name": "m", "stages": ["Production"]}),
        ("POST", "/registered-models/alias", {"name": "m", "alias": "a", "version": "1"}),
        ("POST", "/model-versions/create", {"name": "m", "source": "s3://b/m", "run_id": "", "tags": []}),
        ("PATCH", "/model-versions/update", {"name": "m", "version": "1", "description": "d"}),
        ("POST", "/model-versions/set-tag", {"name": "m", "version": "1", "key": "k", "value": "v"}),
        (
            "POST",
            "/model-versions/transition-stage",
            {"name": "m", "version": "1", "stage": "Staging", "archive_existing_versions": False},
        ),
        ("GET", "/registered-models/search", {"filter": "name = 'm'", "max_results": 5, "page_token": ""}),
        ("GET", "/model-versions/search", {"filter": "name = 'm'", "max_results": 5}),
        ("GET", "/model-versions/get", {"name": "m", "version": "1"}),
        ("GET", "/model-versions/get-download-uri", {"name": "m", "version": "1"}),
        ("GET", "/registered-models/alias", {"name": "m", "alias": "a"}),
        ("POST", "/registered-models/rename", {"name": "m", "new_name": "m2"}),  # last: it may rename "m"
    ]
    for method, path, valid in endpoints:
        for field in valid:
            for value in GARBAGE:
                response = _send(http, method, path, {**valid, field: value})
                assert response.status_code < 500, (method, path, field, value, response.text)
                if response.status_code >= 400:
                    assert "error_code" in response.json()


def test_errors_carry_mlflow_codes(parts: tuple[TestClient, RegistryService]) -> None:
    http, registry = parts
    registry.create_registered_model("m")
    cases = [
        ("GET", "/registered-models/get", {"name": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("POST", "/registered-models/create", {"name": "m"}, 400, "RESOURCE_ALREADY_EXISTS"),
        ("GET", "/model-versions/get", {"name": "m", "version": "4"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("GET", "/registered-models/alias", {"name": "m", "alias": "gone"}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "/registered-models/create", {}, 400, "INVALID_PARAMETER_VALUE"),
    ]
    for method, path, body, status, code in cases:
        response = _send(http, method, path, body)
        assert (response.status_code, response.json()["error_code"]) == (status, code), response.text


def test_bad_alias_changes_nothing(parts: tuple[TestClient, RegistryService]) -> None:
    http, registry = parts
    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://b/m")
    response = _send(http, "POST", "/registered-models/alias", {"name": "m", "alias": "latest", "version": "1"})
    assert response.status_code == 400
    assert registry.get_registered_model("m").aliases == {}
    assert list(registry.get_registry_events("m")) == []


def test_events_endpoint(parts: tuple[TestClient, RegistryService]) -> None:
    http, registry = parts
    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://b/m")
    registry.set_registered_model_alias("m", "champion", 1, reason="ship it")
    body = http.get("/api/2.0/dockyard/registry/events", params={"name": "m"}).json()
    assert body == {
        "events": [
            {
                "event_id": body["events"][0]["event_id"],
                "timestamp": body["events"][0]["timestamp"],
                "user_id": "unknown",
                "name": "m",
                "kind": "alias_set",
                "alias": "champion",
                "to_version": "1",
                "reason": "ship it",
            }
        ]
    }
    assert http.get("/ajax-api/2.0/dockyard/registry/events", params={"name": "m"}).status_code == 200


def test_no_registry_no_routes(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    tracking = TrackingService(SqlTrackingStore(db, artifact_root="mlflow-artifacts:"))
    with TestClient(create_app(Settings.from_env({}, cwd=tmp_path), tracking=tracking)) as http:
        response = http.get(f"{API}/registered-models/get", params={"name": "m"})
        assert response.status_code == 404 and not response.content.startswith(b"{")
    db.dispose()
