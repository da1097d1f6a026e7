"""The official ``mlflow`` client's webhook calls (MLflow 3.3+) against a real ``dockyard server``, and a
delivery from that server to a local receiver, verified with the signing secret. The server allows its
local receivers (127.0.0.1) with ``DOCKYARD_WEBHOOK_ALLOWED_HOSTS``, refuses other non-public
destinations, keeps secrets encrypted in its database and never sends them (or a receiver's answer) back."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from mlflow import MlflowClient
from mlflow.entities.webhook import WebhookEvent, WebhookStatus
from mlflow.exceptions import MlflowException

from dockyard.registry.webhook_secrets import KEY_FILE, PREFIX
from dockyard.registry.webhooks import verify

from server.dockyard_process import Server, dockyard_server

WAIT = 60.0  # an upper bound for a hung test, not a timing assertion
SECRET = "whsec-3c1b-never-sent-back"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's ``dockyard server``, allowing webhooks to the local receivers."""
    env = {"DOCKYARD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    with dockyard_server(tmp_path_factory.mktemp("webhooks"), env=env) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]], threading.Event]]:
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"receiver-private-answer")
            arrived.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http.server_address[1]}/hook", received, arrived
    http.shutdown()
    http.server_close()


def test_webhook_crud_with_the_official_client(client: MlflowClient, receiver: Any) -> None:
    url, received, _arrived = receiver
    created = client.create_webhook(
        name="ci", url=url, events=["model_version.created", "model_version_alias.created"], secret="s"
    )
    assert created.status == WebhookStatus.ACTIVE and created.url == url
    assert created.events == [WebhookEvent("model_version", "created"), WebhookEvent("model_version_alias", "created")]
    assert client.get_webhook(created.webhook_id).name == "ci"
    assert created.webhook_id in [w.webhook_id for w in client.list_webhooks()]
    updated = client.update_webhook(created.webhook_id, status=WebhookStatus.DISABLED, description="paused")
    assert (updated.status, updated.description) == (WebhookStatus.DISABLED, "paused")
    result = client.test_webhook(created.webhook_id)
    assert result.success and result.response_status == 200 and result.response_body is None
    assert json.loads(received[0][1])["entity"] == "model_version"
    client.delete_webhook(created.webhook_id)
    with pytest.raises(MlflowException, match=r"RESOURCE_DOES_NOT_EXIST|not found"):
        client.get_webhook(created.webhook_id)


def test_server_delivers_a_signed_event(client: MlflowClient, receiver: Any, tmp_path: Path) -> None:
    url, received, arrived = receiver
    hook = client.create_webhook(name="deploy", url=url, events=["model_version.created"], secret="whsec")
    name = f"hooked-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/model")
    assert arrived.wait(WAIT)
    headers, body = received[0]
    assert verify(
        "whsec", headers["x-mlflow-delivery-id"], headers["x-mlflow-timestamp"], body, headers["x-mlflow-signature"]
    )
    payload = json.loads(body)
    assert (payload["entity"], payload["action"]) == ("model_version", "created")
    assert (payload["data"]["name"], payload["data"]["version"]) == (name, "1")
    client.delete_webhook(hook.webhook_id)


def test_non_public_destinations_are_refused_through_the_api(client: MlflowClient) -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::1]:5000/x", "http://0x7f000001/x"):
        with pytest.raises(MlflowException, match=r"INVALID_PARAMETER_VALUE|not a public address|non-standard"):
            client.create_webhook(name="evil", url=url, events=["model_version.created"])
    assert "evil" not in [w.name for w in client.list_webhooks()]


def test_the_secret_is_encrypted_in_the_database_and_in_no_response(server: Server, receiver: Any) -> None:
    import httpx2

    url, _received, _arrived = receiver
    api = f"{server.url}/api/2.0/mlflow/webhooks"
    events = [{"entity": "model_version", "action": "created"}]
    created = httpx2.post(api, json={"name": "raw", "url": url, "events": events, "secret": SECRET})
    webhook_id = created.json()["webhook"]["webhook_id"]
    answers = [
        created,
        httpx2.get(api),
        httpx2.get(f"{api}/{webhook_id}"),
        httpx2.patch(f"{api}/{webhook_id}", json={"secret": SECRET, "description": "rotated"}),
        httpx2.post(f"{api}/{webhook_id}/test", json={}),
        httpx2.get(f"{server.url}/api/2.0/dockyard/registry/webhook-deliveries", params={"webhook_id": webhook_id}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert SECRET not in answer.text and '"secret"' not in answer.text
        assert "receiver-private-answer" not in answer.text and "response_body" not in answer.text
    assert answers[4].json()["result"]["success"] is True
    assert isinstance(answers[4].json()["result"]["duration_ms"], int)
    with closing(sqlite3.connect(server.root / "server.db")) as conn:
        [(stored,)] = conn.execute("SELECT secret FROM webhooks WHERE webhook_id = ?", (webhook_id,)).fetchall()
    assert stored.startswith(PREFIX) and SECRET not in stored
    assert (server.root / KEY_FILE).is_file()  # generated next to the SQLite file
    httpx2.delete(f"{api}/{webhook_id}")


def test_dockyard_only_events_do_not_break_the_official_client(client: MlflowClient, server: Server) -> None:
    """MLflow's client cannot parse ``model_version.stage_changed`` (nor a webhook without events): it sees
    each webhook's MLflow events, and no webhook that has only Dockyard's; Dockyard's parameter brings them
    back."""
    import httpx2

    api = f"{server.url}/api/2.0/mlflow/webhooks"
    mixed_events = [
        {"entity": "MODEL_VERSION", "action": "CREATED"},
        {"entity": "MODEL_VERSION", "action": "STAGE_CHANGED"},
    ]
    url = "http://127.0.0.1:9/hook"
    mixed = httpx2.post(api, json={"name": "mixed", "url": url, "events": mixed_events})
    only = httpx2.post(api, json={"name": "only-extra", "url": url, "events": ["model_version.stage_changed"]})
    assert mixed.status_code == only.status_code == 200, (mixed.text, only.text)
    mixed_id, only_id = mixed.json()["webhook"]["webhook_id"], only.json()["webhook"]["webhook_id"]
    assert "STAGE_CHANGED" not in mixed.text  # the answer to a request that did not ask for extras
    assert only.json()["webhook"]["events"] == mixed_events[1:]  # nothing of MLflow's to show: whole

    listed = {w.webhook_id: w for w in client.list_webhooks()}
    assert listed[mixed_id].events == [WebhookEvent("model_version", "created")]
    assert only_id not in listed
    assert [w.webhook_id for w in client.list_webhooks(max_results=1)] in ([], [mixed_id])  # a short page
    assert client.get_webhook(mixed_id).events == [WebhookEvent("model_version", "created")]
    renamed = client.update_webhook(mixed_id, description="still mixed")
    assert renamed.events == [WebhookEvent("model_version", "created")]

    asked = {"include_dockyard_events": "true"}
    got = httpx2.get(f"{api}/{mixed_id}", params=asked).json()["webhook"]["events"]
    assert {"entity": "MODEL_VERSION", "action": "STAGE_CHANGED"} in got and len(got) == 2  # kept by the update
    everything = httpx2.get(api, params=asked).json()["webhooks"]
    assert [w["events"] for w in everything if w["webhook_id"] == only_id] == [mixed_events[1:]]
    for webhook_id in (mixed_id, only_id):
        client.delete_webhook(webhook_id)
