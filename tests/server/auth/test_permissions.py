"""Every endpoint family checks its caller: a matrix of users (no grant, READ, EDIT, MANAGE, admin) x
endpoints (experiments, runs, metrics, artifacts through the proxy, the registry, Dockyard's
extensions, webhooks, user management), over raw HTTP against the in-process server with auth on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.server.auth.entities import Permission

from .conftest import PASSWORD, AuthServer, basic

API = "/api/2.0/mlflow"
EXT = "/api/2.0/dockyard"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
AJAX = "/ajax-api/2.0/mlflow"


@dataclass
class World:
    experiment_id: str
    run_id: str
    model: str


@pytest.fixture
def world(server: AuthServer) -> World:
    """Made by the admin: an experiment with a run, an artifact, a registered model with version 1;
    users none/reader/editor/manager hold that grant on both the experiment and the model."""
    admin = basic("admin")
    http = server.http
    exp = http.post(f"{API}/experiments/create", json={"name": "secret-exp"}, headers=admin).json()["experiment_id"]
    run = http.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=admin).json()["run"]["info"]
    put = http.put(f"{PROXY}/{exp}/{run['run_id']}/artifacts/model/MLmodel", content=b"flavors: {}\n", headers=admin)
    assert put.status_code == 200, put.text
    http.post(f"{API}/registered-models/create", json={"name": "secret-model"}, headers=admin)
    source = f"runs:/{run['run_id']}/model"
    created = http.post(
        f"{API}/model-versions/create",
        json={"name": "secret-model", "source": source, "run_id": run["run_id"]},
        headers=admin,
    )
    assert created.status_code == 200, created.text
    for username, level in (("none", None), ("reader", "READ"), ("editor", "EDIT"), ("manager", "MANAGE")):
        server.auth.create_user(username, PASSWORD)
        if level is not None:
            server.auth.grant("experiment", exp, username, Permission(level))
            server.auth.grant("registered_model", "secret-model", username, Permission(level))
    return World(exp, run["run_id"], "secret-model")


# (name, action the call needs, method, path, JSON body): {e}, {r} and {m} stand for the experiment id,
# the run id and the registered model's name; a body of bytes is uploaded as is.
METRIC = {"run_id": "{r}", "key": "m", "value": 1, "timestamp": 1}
TAG = {"key": "k", "value": "v"}
ALIAS = {"name": "{m}", "alias": "champion", "version": "1"}
CALLS: list[tuple[str, str, str, str, Any]] = [
    ("get experiment", "read", "GET", API + "/experiments/get?experiment_id={e}", None),
    ("get run", "read", "GET", API + "/runs/get?run_id={r}", None),
    ("metric history", "read", "GET", API + "/metrics/get-history?run_id={r}&metric_key=m", None),
    ("list run artifacts", "read", "GET", API + "/artifacts/list?run_id={r}", None),
    ("download with get-artifact", "read", "GET", "/get-artifact?run_id={r}&path=model/MLmodel", None),
    ("download a version's file", "read", "GET", "/model-versions/get-artifact?name={m}&version=1&path=MLmodel", None),
    ("bulk metric history", "read", "GET", AJAX + "/metrics/get-history-bulk?run_id={r}&metric_key=m", None),
    ("sampled metric history", "read", "GET", API + "/metrics/get-history-bulk-interval?run_ids={r}&metric_key=m",
     None),
    ("download through the proxy", "read", "GET", PROXY + "/{e}/{r}/artifacts/model/MLmodel", None),
    ("get registered model", "read", "GET", API + "/registered-models/get?name={m}", None),
    ("get model version", "read", "GET", API + "/model-versions/get?name={m}&version=1", None),
    ("log metric", "update", "POST", API + "/runs/log-metric", METRIC),
    ("create run", "update", "POST", API + "/runs/create", {"experiment_id": "{e}"}),
    ("set experiment tag", "update", "POST", API + "/experiments/set-experiment-tag", {"experiment_id": "{e}", **TAG}),
    ("upload through the proxy", "update", "PUT", PROXY + "/{e}/{r}/artifacts/new.txt", b"x"),
    ("set version tag", "update", "POST", API + "/model-versions/set-tag", {"name": "{m}", "version": "1", **TAG}),
    ("set alias", "update", "POST", API + "/registered-models/alias", ALIAS),
    ("delete run", "delete", "POST", API + "/runs/delete", {"run_id": "{r}"}),
    ("delete through the proxy", "delete", "DELETE", PROXY + "/{e}/{r}/artifacts/model/MLmodel", None),
    ("delete model version", "delete", "DELETE", API + "/model-versions/delete", {"name": "{m}", "version": "1"}),
    ("registry events", "manage", "GET", EXT + "/registry/events?name={m}", None),
    ("promote", "manage", "POST", EXT + "/registry/promote", {"name": "{m}", "version": "1", "alias": "prod"}),
    ("grant a permission", "manage", "POST", "/api/3.0/mlflow/users/permissions/grant",
     {"username": "none", "resource_type": "experiment", "resource_id": "{e}", "permission": "READ"}),
]  # fmt: skip


def call(http: TestClient, w: World, headers: dict[str, str], method: str, path: str, body: Any) -> Any:
    def fill(text: str) -> str:
        return text.format(e=w.experiment_id, r=w.run_id, m=w.model)

    url = fill(path)
    if isinstance(body, bytes):
        return http.request(method, url, content=body, headers=headers)
    if body is None:
        return http.request(method, url, headers=headers)
    json_body = {k: fill(v) if isinstance(v, str) else v for k, v in body.items()}
    return http.request(method, url, json=json_body, headers=headers)


LEVELS = {
    "none": Permission.NO_PERMISSIONS,
    "reader": Permission.READ,
    "editor": Permission.EDIT,
    "manager": Permission.MANAGE,
}


@pytest.mark.parametrize("username", [*LEVELS, "admin"])
@pytest.mark.parametrize(("name", "action", "method", "path", "body"), CALLS, ids=[c[0] for c in CALLS])
def test_permission_matrix(
    server: AuthServer, world: World, username: str, name: str, action: str, method: str, path: str, body: Any
) -> None:
    allowed = username == "admin" or LEVELS[username].can(action)
    response = call(server.http, world, basic(username), method, path, body)
    if allowed:
        assert response.status_code == 200, f"{username} {name}: {response.status_code} {response.text}"
    else:
        assert response.status_code == 403, f"{username} {name}: {response.status_code} {response.text}"
        assert response.json()["error_code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(("name", "action", "method", "path", "body"), CALLS, ids=[c[0] for c in CALLS])
def test_no_or_wrong_credentials_get_401_and_change_nothing(
    server: AuthServer, world: World, name: str, action: str, method: str, path: str, body: Any
) -> None:
    before = server.http.get(f"{API}/runs/get?run_id={world.run_id}", headers=basic("admin")).json()
    for headers in ({}, basic("admin", "wrong-password"), {"Authorization": "Bearer dyt_nope_nope"}):
        response = call(server.http, world, headers, method, path, body)
        assert response.status_code == 401, f"{name}: {response.status_code}"
        assert response.json()["error_code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"].startswith("Basic")
    after = server.http.get(f"{API}/runs/get?run_id={world.run_id}", headers=basic("admin")).json()
    assert after == before
    assert (server.destination / world.experiment_id / world.run_id / "artifacts" / "model" / "MLmodel").exists()


def test_the_ui_upload_dataset_search_and_logged_model_files_check_the_caller(server: AuthServer, world: World) -> None:
    """MLflow's UI routes of issue 12: upload needs EDIT on the run's experiment, the dataset search shows
    only readable experiments, a logged model's files need READ on its experiment."""
    http, admin = server.http, basic("admin")
    octets = {"content-type": "application/octet-stream"}
    upload = f"{AJAX}/upload-artifact?run_uuid={world.run_id}&path=ui/note.txt"
    denied = http.post(upload, content=b"hi", headers={**basic("reader"), **octets})
    assert denied.status_code == 403 and denied.json()["error_code"] == "PERMISSION_DENIED"
    assert http.post(upload, content=b"hi", headers={**basic("editor"), **octets}).status_code == 200
    assert (
        server.destination / world.experiment_id / world.run_id / "artifacts" / "ui" / "note.txt"
    ).read_bytes() == b"hi"

    dataset = {"name": "train", "digest": "d1", "source_type": "local", "source": "{}"}
    logged = http.post(
        f"{API}/runs/log-inputs", json={"run_id": world.run_id, "datasets": [{"dataset": dataset}]}, headers=admin
    )
    assert logged.status_code == 200, logged.text
    search = {"experiment_ids": [world.experiment_id]}
    assert http.post(f"{AJAX}/experiments/search-datasets", json=search, headers=basic("none")).json() == {
        "dataset_summaries": []
    }
    seen = http.post(f"{AJAX}/experiments/search-datasets", json=search, headers=basic("reader")).json()
    assert [s["name"] for s in seen["dataset_summaries"]] == ["train"]

    model = http.post(
        f"{API}/logged-models", json={"experiment_id": world.experiment_id, "name": "lm"}, headers=admin
    ).json()["model"]["info"]
    put = http.put(
        f"{PROXY}/{world.experiment_id}/models/{model['model_id']}/artifacts/MLmodel", content=b"x", headers=admin
    )
    assert put.status_code == 200, put.text
    for path in (
        f"{API}/logged-models/{model['model_id']}/artifacts/directories",
        f"{AJAX}/logged-models/{model['model_id']}/artifacts/files?artifact_file_path=MLmodel",
    ):
        assert http.get(path, headers=basic("none")).status_code == 403
        assert http.get(path, headers=basic("reader")).status_code == 200, path


def test_searches_show_only_what_the_caller_may_read(server: AuthServer, world: World) -> None:
    http = server.http
    # Another experiment and model, readable by nobody but the admin.
    other = http.post(f"{API}/experiments/create", json={"name": "other"}, headers=basic("admin")).json()
    http.post(f"{API}/registered-models/create", json={"name": "other-model"}, headers=basic("admin"))
    http.post(
        f"{API}/runs/log-parameter",
        json={"run_id": world.run_id, "key": "p_secret", "value": "1"},
        headers=basic("admin"),
    )
    for username, sees in (("reader", True), ("none", False)):
        keys = http.post(
            f"{EXT}/experiments/keys",
            json={"experiment_ids": [world.experiment_id, other["experiment_id"]]},
            headers=basic(username),
        )
        assert keys.status_code == 200, keys.text
        assert keys.json()["params"] == (["p_secret"] if sees else [])
        experiments = http.post(f"{API}/experiments/search", json={"max_results": 100}, headers=basic(username))
        names = {e["name"] for e in experiments.json().get("experiments", [])}
        assert ("secret-exp" in names) is sees and "other" not in names
        runs = http.post(
            f"{API}/runs/search",
            json={"experiment_ids": [world.experiment_id, other["experiment_id"]]},
            headers=basic(username),
        ).json()
        assert [r["info"]["run_id"] for r in runs.get("runs", [])] == ([world.run_id] if sees else [])
        models = http.get(f"{API}/registered-models/search", headers=basic(username)).json()
        assert {m["name"] for m in models.get("registered_models", [])} == ({"secret-model"} if sees else set())
        versions = http.get(f"{API}/model-versions/search", headers=basic(username)).json()
        assert {v["name"] for v in versions.get("model_versions", [])} == ({"secret-model"} if sees else set())


def test_the_creator_manages_what_they_create_and_is_recorded_as_its_user(server: AuthServer, world: World) -> None:
    http = server.http
    exp = http.post(f"{API}/experiments/create", json={"name": "mine"}, headers=basic("none")).json()
    assert server.auth.get_grant("experiment", exp["experiment_id"], "none") is Permission.MANAGE
    run = http.post(
        f"{API}/runs/create", json={"experiment_id": exp["experiment_id"], "user_id": "mallory"}, headers=basic("none")
    ).json()["run"]["info"]
    assert run["user_id"] == "none"  # the signed-in user, not the name in the request
    http.post(f"{API}/registered-models/create", json={"name": "mine"}, headers=basic("none"))
    assert server.auth.get_grant("registered_model", "mine", "none") is Permission.MANAGE
    # the audit history records the caller, whatever user_id the request names
    set_alias = http.post(
        f"{EXT}/registry/promote",
        json={"name": world.model, "version": "1", "alias": "champion", "user_id": "mallory"},
        headers=basic("manager"),
    )
    assert set_alias.status_code == 200, set_alias.text
    events = http.get(f"{EXT}/registry/events?name={world.model}", headers=basic("admin")).json()["events"]
    assert events[0]["user_id"] == "manager"


def test_webhooks_and_user_management_are_for_admins(server: AuthServer, world: World) -> None:
    http = server.http
    assert http.get(f"{API}/webhooks", headers=basic("manager")).status_code == 403
    assert http.get(f"{API}/webhooks", headers=basic("admin")).status_code == 200
    created = http.post(f"{API}/users/create", json={"username": "eve", "password": PASSWORD}, headers=basic("manager"))
    assert created.status_code == 403
    assert http.get(f"{API}/users/get?username=reader", headers=basic("editor")).status_code == 403
    assert http.get(f"{API}/users/get?username=reader", headers=basic("reader")).json()["user"]["username"] == "reader"


def test_unknown_routes_are_closed_to_users(server: AuthServer, world: World) -> None:
    from dockyard.server.auth.policy import ADMIN_ONLY, rule_for

    assert rule_for("POST", "/mlflow/some-new-endpoint") is ADMIN_ONLY


def test_every_served_route_has_a_rule(server: AuthServer) -> None:
    """A new endpoint must be given a rule on purpose: only webhooks are admin-only by default."""
    import re

    from dockyard.server.auth.policy import ADMIN_ONLY, rule_for

    for route in server.http.app.routes:  # type: ignore[attr-defined]
        path = re.sub(r"^/(?:ajax-)?api/[23]\.0", "", route.path)
        if path in ("/health", "/version"):
            continue
        for method in route.methods or ():
            if method == "HEAD":
                continue
            if rule_for(method, path) is ADMIN_ONLY:
                assert "webhook" in path, f"{method} {path} has no rule (admins only)"
