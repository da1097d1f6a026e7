"""Validation gates with auth on: who may declare a gate, record a validation and force a promotion past
one, over raw HTTP against the in-process server (users with READ, EDIT and MANAGE on the model)."""

from __future__ import annotations

import pytest

from dockyard.server.auth.entities import Permission

from .conftest import PASSWORD, AuthServer, basic

API = "/api/2.0/mlflow"
EXT = "/api/2.0/dockyard"
MODEL = "gated-model"


@pytest.fixture
def gated(server: AuthServer) -> AuthServer:
    admin = basic("admin")
    assert server.http.post(f"{API}/registered-models/create", json={"name": MODEL}, headers=admin).status_code == 200
    for _ in range(2):
        created = server.http.post(
            f"{API}/model-versions/create", json={"name": MODEL, "source": "file:///nowhere/model"}, headers=admin
        )
        assert created.status_code == 200, created.text
    for username, level in (("reader", "READ"), ("editor", "EDIT"), ("manager", "MANAGE")):
        server.auth.create_user(username, PASSWORD)
        server.auth.grant("registered_model", MODEL, username, Permission(level))
    return server


GATE = {"name": MODEL, "alias": "champion", "rules": ["roc_auc >= 0.8"]}


def test_only_managers_set_or_delete_a_gate_and_readers_see_it(gated: AuthServer) -> None:
    http = gated.http
    for username in ("reader", "editor"):
        refused = http.post(f"{EXT}/registry/gates/set", json=GATE, headers=basic(username))
        assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED"
    made = http.post(f"{EXT}/registry/gates/set", json=GATE, headers=basic("manager"))
    assert made.status_code == 200, made.text
    assert made.json()["gate"]["user_id"] == "manager"
    shown = http.get(f"{EXT}/registry/gates/get", params={"name": MODEL}, headers=basic("reader"))
    assert shown.json()["gates"][0]["rules"] == ["roc_auc >= 0.8"]
    target = {"name": MODEL, "alias": "champion"}
    assert (
        http.request("DELETE", f"{EXT}/registry/gates/delete", json=target, headers=basic("editor")).status_code == 403
    )
    assert (
        http.request("DELETE", f"{EXT}/registry/gates/delete", json=target, headers=basic("manager")).status_code == 200
    )


def test_editors_record_validations_as_themselves(gated: AuthServer) -> None:
    body = {
        "name": MODEL,
        "version": "1",
        "results": [{"rule": "roc_auc >= 0.8", "value": 0.9}],
        "user_id": "someone-else",
    }
    assert gated.http.post(f"{EXT}/registry/validations/create", json=body, headers=basic("reader")).status_code == 403
    made = gated.http.post(f"{EXT}/registry/validations/create", json=body, headers=basic("editor"))
    assert made.status_code == 200, made.text
    assert made.json()["validation"]["user_id"] == "editor" and made.json()["validation"]["passed"] is True


def test_a_refused_move_is_invalid_state_and_only_managers_force_it_with_a_reason(gated: AuthServer) -> None:
    http = gated.http
    http.post(f"{EXT}/registry/gates/set", json=GATE, headers=basic("manager"))
    refused = http.post(
        f"{API}/registered-models/alias",
        json={"name": MODEL, "alias": "champion", "version": "2"},
        headers=basic("editor"),
    )
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "INVALID_STATE"
    assert "rule 'roc_auc >= 0.8' of alias 'champion'" in refused.json()["message"]
    force = {"name": MODEL, "version": "2", "alias": "champion", "force": True, "reason": "incident 7 hotfix"}
    assert http.post(f"{EXT}/registry/promote", json=force, headers=basic("editor")).status_code == 403
    no_reason = http.post(f"{EXT}/registry/promote", json={**force, "reason": ""}, headers=basic("manager"))
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["message"]
    forced = http.post(f"{EXT}/registry/promote", json=force, headers=basic("manager"))
    assert forced.status_code == 200, forced.text
    events = http.get(f"{EXT}/registry/events", params={"name": MODEL}, headers=basic("manager")).json()["events"]
    last = events[-1]
    assert (last["user_id"], last["alias"], last["to_version"]) == ("manager", "champion", "2")
    assert last["reason"].startswith("forced past the gate (rule 'roc_auc >= 0.8'")
    assert last["reason"].endswith("incident 7 hotfix")
