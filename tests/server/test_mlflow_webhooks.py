"""The official ``mlflow`` client's webhook calls (MLflow 3.3+) against a real ``dockyard server``, and a
delivery from that server to a local receiver, verified with the signing secret."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from mlflow import MlflowClient
from mlflow.entities.webhook import WebhookEvent, WebhookStatus
from mlflow.exceptions import MlflowException

from dockyard.registry.webhooks import verify

WAIT = 60.0  # an upper bound for a hung test, not a timing assertion


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
    assert result.success and result.response_status == 200
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
