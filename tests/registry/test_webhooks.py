"""Webhook deliveries against real HTTP receivers (``http.server`` in a thread): signatures, retries with
backoff, giving up, and the delivery log. The dispatcher's backoff is shortened, never asserted on."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dockyard.db import Database
from dockyard.registry import webhooks
from dockyard.registry.entities import DeliveryStatus
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore
from dockyard.registry.webhooks import WebhookDispatcher, verify

SECRET = "whsec-test"
DELIVERY_ID_HEADER = webhooks.DELIVERY_ID_HEADER.lower()
SIGNATURE_HEADER = webhooks.SIGNATURE_HEADER.lower()
TIMESTAMP_HEADER = webhooks.TIMESTAMP_HEADER.lower()
WAIT = 60.0  # an upper bound for a hung test, not a timing assertion


@dataclass
class Receiver:
    """A local HTTP endpoint that records each POST and answers ``statuses`` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event | None = None  # when set, requests wait for it before answering
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.release is not None:
                    receiver.release.wait(WAIT)
                # Header names are case-insensitive (urllib sends X-mlflow-signature): keep them lower-case.
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"nope")

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), rec.handler())
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    if rec.release is not None:
        rec.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def registry(tmp_path: Path, sqlite_template: Path) -> Iterator[RegistryService]:
    import shutil

    shutil.copy(sqlite_template, tmp_path / "store.db")
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    store = SqlRegistryStore(db)
    dispatcher = WebhookDispatcher(store.webhooks, max_attempts=3, backoff=0.01, timeout=5.0)
    service = RegistryService(store, default_user=lambda: "ana", webhooks=dispatcher)
    yield service
    assert dispatcher.wait_idle(WAIT)
    db.dispose()


def _idle(registry: RegistryService) -> None:
    assert registry.webhooks.wait_idle(WAIT)


def _attempts(registry: RegistryService, webhook_id: str) -> list[tuple[int, DeliveryStatus, int | None]]:
    found = reversed(list(registry.list_webhook_deliveries(webhook_id)))
    return [(d.attempt, d.status, d.response_status) for d in found]


def test_signed_deliveries_of_registry_events(registry: RegistryService, receiver: Receiver) -> None:
    events = ["model_version.created", "model_version_alias.created", "model_version.stage_changed"]
    hook = registry.create_webhook("ci", receiver.url, events, secret=SECRET)
    registry.create_registered_model("churn")  # registered_model.created: not subscribed
    registry.create_model_version("churn", "s3://bucket/model", tags={"k": "v"})
    registry.create_model_version("churn", "s3://bucket/model")
    registry.promote("churn", 1, alias="champion", stage="Production", reason="first")
    registry.promote("churn", 2, alias="champion")
    registry.rollback("churn", "champion", reason="bad latency")
    _idle(registry)

    bodies = []
    for headers, body in receiver.requests:
        assert headers["content-type"] == "application/json"
        assert verify(SECRET, headers[DELIVERY_ID_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert not verify(
            "wrong", headers[DELIVERY_ID_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER]
        )
        bodies.append(json.loads(body))
    assert len({h[DELIVERY_ID_HEADER] for h, _ in receiver.requests}) == len(receiver.requests)
    # One worker sends in order of publication.
    assert [(b["entity"], b["action"]) for b in bodies] == [
        ("model_version", "created"),
        ("model_version", "created"),
        ("model_version_alias", "created"),
        ("model_version", "stage_changed"),
        ("model_version_alias", "created"),
        ("model_version_alias", "created"),
    ]
    assert bodies[0]["data"] | {"tags": None} == {
        "name": "churn",
        "version": "1",
        "source": "s3://bucket/model",
        "run_id": None,
        "model_id": None,
        "tags": None,
        "description": None,
        "user_id": None,
    }
    assert bodies[0]["data"]["tags"] == {"k": "v"} and bodies[0]["timestamp"]
    stage = bodies[3]["data"]
    assert (stage["version"], stage["stage"], stage["from_stage"], stage["reason"]) == (
        "1",
        "Production",
        "None",
        "first",
    )
    rollback = bodies[5]["data"]
    assert (rollback["alias"], rollback["version"], rollback["from_version"], rollback["rollback"]) == (
        "champion",
        "1",
        "2",
        True,
    )
    assert rollback["reason"] == "bad latency" and rollback["user_id"] == "ana"
    deliveries = list(registry.list_webhook_deliveries(hook.webhook_id))
    assert len(deliveries) == 6 and {d.status for d in deliveries} == {DeliveryStatus.SUCCEEDED}
    assert {d.model_name for d in deliveries} == {"churn"} and json.loads(deliveries[0].payload) == bodies[-1]


def test_a_failing_receiver_is_retried_until_it_answers(registry: RegistryService, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    hook = registry.create_webhook("ci", receiver.url, ["registered_model.created"], secret=SECRET)
    registry.create_registered_model("churn", description="d")
    _idle(registry)
    assert _attempts(registry, hook.webhook_id) == [
        (1, DeliveryStatus.RETRYING, 500),
        (2, DeliveryStatus.RETRYING, 503),
        (3, DeliveryStatus.SUCCEEDED, 200),
    ]
    assert len({h[DELIVERY_ID_HEADER] for h, _ in receiver.requests}) == 1  # one delivery, three attempts
    assert len({body for _, body in receiver.requests}) == 1
    for headers, body in receiver.requests:  # re-signed for each attempt's timestamp
        assert verify(SECRET, headers[DELIVERY_ID_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert json.loads(receiver.requests[0][1])["data"] == {"name": "churn", "tags": {}, "description": "d"}


def test_an_unreachable_url_is_tried_max_attempts_times_then_given_up(registry: RegistryService) -> None:
    with socket.socket() as sock:  # a port nothing listens on once the socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hook = registry.create_webhook("gone", f"http://127.0.0.1:{port}/hook", ["registered_model.created"])
    registry.create_registered_model("churn")
    _idle(registry)
    deliveries = list(reversed(list(registry.list_webhook_deliveries(hook.webhook_id))))
    assert [(d.attempt, d.status, d.response_status) for d in deliveries] == [
        (1, DeliveryStatus.RETRYING, None),
        (2, DeliveryStatus.RETRYING, None),
        (3, DeliveryStatus.FAILED, None),
    ]
    assert all(d.error for d in deliveries)
    assert len({d.delivery_id for d in deliveries}) == 1


def test_a_client_error_answer_is_not_retried(registry: RegistryService, receiver: Receiver) -> None:
    receiver.statuses = [401]
    hook = registry.create_webhook("ci", receiver.url, ["registered_model.created"])
    registry.create_registered_model("churn")
    _idle(registry)
    assert _attempts(registry, hook.webhook_id) == [(1, DeliveryStatus.FAILED, 401)]
    assert SIGNATURE_HEADER not in receiver.requests[0][0]  # no secret, no signature


def test_disabled_and_unsubscribed_webhooks_receive_nothing(registry: RegistryService, receiver: Receiver) -> None:
    off = registry.create_webhook("off", receiver.url, ["registered_model.created"], status="DISABLED")
    other = registry.create_webhook("other", receiver.url, ["model_version_tag.set"])
    registry.create_registered_model("churn")
    _idle(registry)
    assert receiver.requests == []
    registry.create_model_version("churn", "s3://b/m")
    registry.set_model_version_tag("churn", 1, "validated", "yes")
    registry.update_webhook(off.webhook_id, status="ACTIVE")
    registry.create_registered_model("churn2")
    _idle(registry)
    assert [json.loads(b)["action"] for _, b in receiver.requests] == ["set", "created"]
    assert _attempts(registry, other.webhook_id) == [(1, DeliveryStatus.SUCCEEDED, 200)]


def test_delivery_does_not_block_the_write(registry: RegistryService, receiver: Receiver) -> None:
    receiver.release = threading.Event()
    hook = registry.create_webhook("slow", receiver.url, ["model_version_alias.deleted"])
    registry.create_registered_model("churn")
    registry.create_model_version("churn", "s3://b/m")
    registry.set_registered_model_alias("churn", "champion", 1)
    registry.delete_model_version("churn", 1)  # removes the alias: an alias deleted event
    # The call returned while the receiver is still holding the request.
    assert receiver.requests == [] and list(registry.list_webhook_deliveries(hook.webhook_id)) == []
    receiver.release.set()
    _idle(registry)
    data = json.loads(receiver.requests[0][1])["data"]
    assert (data["alias"], data["version"], data["reason"]) == ("champion", "1", "version 1 was deleted")


def test_test_webhook_sends_a_sample_now(registry: RegistryService, receiver: Receiver) -> None:
    hook = registry.create_webhook("ci", receiver.url, ["model_version.created", "model_version.stage_changed"])
    result = registry.test_webhook(hook.webhook_id)
    assert (result.success, result.response_status, result.response_body) == (True, 200, "ok")
    assert json.loads(receiver.requests[0][1])["action"] == "created"
    receiver.statuses = [500]
    failed = registry.test_webhook(hook.webhook_id, "model_version.stage_changed")
    assert (failed.success, failed.response_status, failed.error_message) == (False, 500, "HTTP 500")
    assert [d.status for d in registry.list_webhook_deliveries(hook.webhook_id)] == [
        DeliveryStatus.FAILED,
        DeliveryStatus.SUCCEEDED,
    ]
