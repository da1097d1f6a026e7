"""Webhook deliveries against real HTTP receivers (``http.server`` in a thread): signatures, retries with
backoff, giving up, and the delivery log; and their safety: destinations refused unless public or allowed
(at create time and at send time, after DNS), no redirects, no response body from a test, secrets
encrypted at rest, replays refused by ``verify``. The dispatcher's backoff is shortened, never asserted
on. The receivers listen on 127.0.0.1, so the fixture's dispatcher allows that address, as an operator
would with ``DOCKYARD_WEBHOOK_ALLOWED_HOSTS``."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import ssl
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dockyard.core.errors import InvalidParameter
from dockyard.db import Database
from dockyard.registry import webhooks, wire
from dockyard.registry.entities import DeliveryStatus, WebhookStatus
from dockyard.registry.service import RegistryService
from dockyard.registry.sql_store import SqlRegistryStore
from dockyard.registry.webhook_destinations import AllowedHosts, DestinationRefused, PinnedSender
from dockyard.registry.webhook_secrets import KEY_FILE, PREFIX
from dockyard.registry.webhooks import WebhookDispatcher, sign, verify

SECRET = "whsec-test"
RESPONSE_BODY = b"internal-answer-8d1f"  # what a receiver answers: a test call must never pass it on
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
    location: str = ""  # sent with a 3xx answer
    url: str = ""
    port: int = 0

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
                if 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.end_headers()
                self.wfile.write(RESPONSE_BODY if status < 300 else b"nope")

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), rec.handler())
    rec.port = server.server_address[1]
    rec.url = f"http://127.0.0.1:{rec.port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    if rec.release is not None:
        rec.release.set()
    server.shutdown()
    server.server_close()


Build = Callable[..., RegistryService]


@pytest.fixture
def build(tmp_path: Path, sqlite_template: Path) -> Iterator[Build]:
    """``build(allowed=..., resolver=..., secret_key=..., path=...)``: a registry on a SQLite file (a fresh
    copy of the template at ``tmp_path/store.db`` unless ``path`` names one), its dispatcher allowing the
    hosts in ``allowed`` and resolving names with ``resolver`` (the system's by default)."""
    built: list[tuple[Database, WebhookDispatcher]] = []

    def make(
        *,
        allowed: Sequence[str] = (),
        resolver: Any = None,
        secret_key: str | None = None,
        path: Path | None = None,
    ) -> RegistryService:
        if path is None:
            path = tmp_path / "store.db"
            shutil.copy(sqlite_template, path)
        db = Database(f"sqlite:///{path}")
        store = SqlRegistryStore(db)
        send = None if resolver is None else PinnedSender(AllowedHosts.parse(allowed), resolver=resolver)
        dispatcher = WebhookDispatcher(
            store.webhooks,
            allowed_hosts=allowed,
            secret_key=secret_key,
            send=send,
            max_attempts=3,
            backoff=0.01,
            timeout=5.0,
        )
        built.append((db, dispatcher))
        return RegistryService(store, default_user=lambda: "ana", webhooks=dispatcher)

    yield make
    for db, dispatcher in built:
        assert dispatcher.wait_idle(WAIT)
        db.dispose()


@pytest.fixture
def registry(build: Build) -> RegistryService:
    """A registry whose webhooks may reach the local receivers (127.0.0.1)."""
    return build(allowed=["127.0.0.1"])


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
    # The status and the time taken, never the receiver's answer (it could be an internal service's).
    assert (result.success, result.response_status, result.response_body) == (True, 200, None)
    assert isinstance(result.duration_ms, int) and result.duration_ms >= 0
    assert RESPONSE_BODY.decode() not in repr(result)
    assert json.loads(receiver.requests[0][1])["action"] == "created"
    receiver.statuses = [500]
    failed = registry.test_webhook(hook.webhook_id, "model_version.stage_changed")
    assert (failed.success, failed.response_status, failed.error_message) == (False, 500, "HTTP 500")
    assert [d.status for d in registry.list_webhook_deliveries(hook.webhook_id)] == [
        DeliveryStatus.FAILED,
        DeliveryStatus.SUCCEEDED,
    ]


# ---------------------------------------------------------------------------------------- safety

EVENT = ["registered_model.created"]


def _resolves_to(*addresses: str) -> Callable[..., list[tuple[Any, ...]]]:
    """A stand-in for ``socket.getaddrinfo`` (the DNS boundary): every name resolves to ``addresses``."""

    def resolve(host: str, port: int, *_args: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    return resolve


def _raw_secret(db_file: Path, webhook_id: str) -> str | None:
    """The ``secret`` column as it sits in the database file."""
    with closing(sqlite3.connect(db_file)) as conn:
        row = conn.execute("SELECT secret FROM webhooks WHERE webhook_id = ?", (webhook_id,)).fetchone()
    return row[0]  # type: ignore[no-any-return]


def _deliveries(registry: RegistryService, webhook_id: str) -> list[Any]:
    return list(reversed(list(registry.list_webhook_deliveries(webhook_id))))


SSRF_URLS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # cloud metadata (link-local)
    "http://[::1]:8080/hook",
    "http://127.0.0.1/hook",
    "http://0x7f000001/hook",  # 127.0.0.1 in hex
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "http://0177.0.0.1/hook",  # octal
    "http://127.1/hook",  # short form
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://100.64.0.1/hook",  # shared address space (carrier-grade NAT)
    "http://0.0.0.0:5000/hook",
    "http://224.0.0.1/hook",  # multicast
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/hook",  # 169.254.169.254, IPv4-mapped, in hex
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://localhost:8080/hook",
    "http://api.localhost/hook",
    "https://LOCALHOST./hook",
]


@pytest.mark.parametrize("url", SSRF_URLS)
def test_non_public_destinations_are_refused_at_create_and_update(build: Build, url: str) -> None:
    registry = build()
    refused = r"^webhook url: host .*(not a public address|loopback name|non-standard form)"
    with pytest.raises(InvalidParameter, match=refused):
        registry.create_webhook("evil", url, EVENT)
    assert list(registry.list_webhooks()) == []
    hook = registry.create_webhook("ok", "https://ci.example.com/hook", EVENT)
    with pytest.raises(InvalidParameter, match=r"^webhook url"):
        registry.update_webhook(hook.webhook_id, url=url)
    assert registry.get_webhook(hook.webhook_id).url == "https://ci.example.com/hook"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://bob:hunter2@ci.example.com/hook", "must not contain credentials"),
        ("https://:hunter2@ci.example.com/hook", "must not contain credentials"),
        ("ftp://ci.example.com/hook", "must be an http:// or https:// URL"),
        ("file:///etc/passwd", "must be an http:// or https:// URL"),
        ("http:///hook", "must name a host"),
        ("http://ci.example.com:99999/hook", "not a valid URL"),
    ],
)
def test_urls_are_checked_statically_with_the_reason(build: Build, url: str, reason: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        build().create_webhook("bad", url, EVENT)
    assert raised.value.message.startswith("webhook url") and reason in raised.value.message
    assert "hunter2" not in raised.value.message  # a password in a refused URL is not echoed


def test_public_and_allowed_destinations_are_accepted(build: Build) -> None:
    registry = build(allowed=["hooks.internal", "10.20.0.0/16", "[::1]"])
    for url in (
        "https://ci.example.com/hook",
        "http://93.184.216.34:8080/x?y=1",
        "https://[2001:4860:4860::8888]/hook",
        "http://hooks.internal/x",
        "http://10.20.3.4/x",
        "http://[::1]:9000/x",
    ):
        assert registry.create_webhook("ok", url, EVENT).url == url
    with pytest.raises(InvalidParameter, match="not a public address"):
        registry.create_webhook("no", "http://10.21.0.1/x", EVENT)  # outside the allowed network


@pytest.mark.parametrize(
    "addresses",
    [
        ("127.0.0.1",),
        ("169.254.169.254",),
        ("10.0.0.7",),
        ("::1",),
        ("::ffff:127.0.0.1",),
        ("93.184.216.34", "127.0.0.1"),  # one non-public answer refuses them all
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused_at_send(
    build: Build, receiver: Receiver, addresses: tuple[str, ...]
) -> None:
    # A name passes the create-time check; what it resolves to when sending decides (DNS rebinding).
    registry = build(resolver=_resolves_to(*addresses))
    hook = registry.create_webhook("rebind", f"http://rebind.example:{receiver.port}/hook", EVENT, secret=SECRET)
    registry.create_registered_model("churn")
    _idle(registry)
    assert receiver.requests == []
    [attempt] = _deliveries(registry, hook.webhook_id)  # refused once, never retried
    assert (attempt.attempt, attempt.status, attempt.response_status) == (1, DeliveryStatus.FAILED, None)
    assert attempt.error.startswith("refused: host rebind.example resolves to a non-public address (")
    assert not any(a in attempt.error for a in addresses)  # internal addresses are logged, not recorded
    tested = registry.test_webhook(hook.webhook_id)
    assert not tested.success and tested.error_message and tested.error_message.startswith("refused")
    assert receiver.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f000001", "2130706433", "localhost", "[::ffff:127.0.0.1]"])
def test_a_url_stored_before_the_checks_is_refused_at_send(build: Build, receiver: Receiver, host: str) -> None:
    registry = build()  # the system's resolver, nothing allowed
    # As an older Dockyard stored it, unchecked.
    hook = registry.store.webhooks.create_webhook(
        "old", f"http://{host}:{receiver.port}/hook", EVENT, None, None, WebhookStatus.ACTIVE
    )
    registry.webhooks.invalidate()
    registry.create_registered_model("churn")
    _idle(registry)
    assert receiver.requests == []
    [attempt] = _deliveries(registry, hook.webhook_id)
    assert attempt.status is DeliveryStatus.FAILED and attempt.error.startswith("refused: ")


@pytest.mark.parametrize("allowed", ["127.0.0.1", "127.0.0.0/8", "hooks.test", "HOOKS.TEST."])
def test_allowed_hosts_let_a_local_receiver_through(build: Build, receiver: Receiver, allowed: str) -> None:
    registry = build(allowed=[allowed], resolver=_resolves_to("127.0.0.1"))
    hook = registry.create_webhook("local", f"http://hooks.test:{receiver.port}/hook", EVENT, secret=SECRET)
    registry.create_registered_model("churn")
    _idle(registry)
    assert _attempts(registry, hook.webhook_id) == [(1, DeliveryStatus.SUCCEEDED, 200)]
    headers, body = receiver.requests[0]
    # Connected to the checked address, but the request still names the URL's host.
    assert headers["host"] == f"hooks.test:{receiver.port}"
    assert verify(SECRET, headers[DELIVERY_ID_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


def test_an_allowed_host_name_is_resolved_by_the_system(build: Build, receiver: Receiver) -> None:
    registry = build(allowed=["localhost"])
    hook = registry.create_webhook("local", f"http://localhost:{receiver.port}/hook", EVENT)
    assert registry.test_webhook(hook.webhook_id).response_status == 200
    assert receiver.requests[0][0]["host"] == f"localhost:{receiver.port}"


def test_an_invalid_allowed_hosts_entry_names_the_setting(build: Build) -> None:
    with pytest.raises(InvalidParameter, match=r"DOCKYARD_WEBHOOK_ALLOWED_HOSTS: 'ci:8080' is not a host name"):
        build(allowed=["ci:8080"])


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_the_delivery_fails(
    registry: RegistryService, receiver: Receiver, status: int
) -> None:
    receiver.statuses = [status]
    receiver.location = receiver.url.replace("/hook", "/elsewhere")
    hook = registry.create_webhook("ci", receiver.url, EVENT, secret=SECRET)
    registry.create_registered_model("churn")
    _idle(registry)
    assert len(receiver.requests) == 1  # the Location was not requested (with or without the signature)
    [attempt] = _deliveries(registry, hook.webhook_id)
    assert (attempt.attempt, attempt.status, attempt.response_status) == (1, DeliveryStatus.FAILED, status)
    assert attempt.error == f"HTTP {status}: redirects are not followed"
    receiver.statuses = [status]
    tested = registry.test_webhook(hook.webhook_id)
    assert (tested.success, tested.response_status, tested.response_body) == (False, status, None)
    assert len(receiver.requests) == 2


def test_the_test_call_never_carries_the_receivers_answer(registry: RegistryService, receiver: Receiver) -> None:
    hook = registry.create_webhook("ci", receiver.url, EVENT)
    receiver.statuses = [200, 500]
    for expected in (True, False):
        result = registry.test_webhook(hook.webhook_id)
        encoded = wire.encode_test_result(result)
        assert result.success is expected and "response_body" not in encoded
        assert set(encoded) <= {"success", "response_status", "error_message", "duration_ms"}
        assert isinstance(encoded["duration_ms"], int)
        assert RESPONSE_BODY.decode() not in json.dumps(encoded) and "nope" not in json.dumps(encoded)
    assert "nope" not in json.dumps([wire.encode_delivery(d) for d in registry.list_webhook_deliveries()])


def test_secrets_are_stored_encrypted_and_never_returned(
    registry: RegistryService, receiver: Receiver, tmp_path: Path
) -> None:
    hook = registry.create_webhook("ci", receiver.url, EVENT, secret=SECRET)
    raw = _raw_secret(tmp_path / "store.db", hook.webhook_id)
    assert raw is not None and raw.startswith(PREFIX) and SECRET not in raw
    key = tmp_path / KEY_FILE  # generated next to the SQLite file, readable by the owner only
    assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    for shown in (
        hook,
        registry.get_webhook(hook.webhook_id),
        *registry.list_webhooks(),
        registry.update_webhook(hook.webhook_id, secret="rotated-secret"),
    ):
        assert not hasattr(shown, "secret") and "secret" not in wire.encode_webhook(shown)
        assert SECRET not in repr(shown) and "rotated-secret" not in json.dumps(wire.encode_webhook(shown))
    rotated = _raw_secret(tmp_path / "store.db", hook.webhook_id)
    assert rotated is not None and rotated.startswith(PREFIX) and "rotated-secret" not in rotated
    registry.create_registered_model("churn")
    _idle(registry)
    headers, body = receiver.requests[0]
    assert verify(
        "rotated-secret", headers[DELIVERY_ID_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER]
    )
    registry.update_webhook(hook.webhook_id, secret="")  # removes it
    assert _raw_secret(tmp_path / "store.db", hook.webhook_id) is None


def test_the_generated_key_is_reused_by_the_next_process(
    build: Build, registry: RegistryService, receiver: Receiver, tmp_path: Path
) -> None:
    hook = registry.create_webhook("ci", receiver.url, EVENT, secret=SECRET)
    key = (tmp_path / KEY_FILE).read_text()
    restarted = build(allowed=["127.0.0.1"], path=tmp_path / "store.db")  # a new dispatcher over the same file
    restarted.test_webhook(hook.webhook_id)
    headers, body = receiver.requests[0]
    assert verify(SECRET, headers[DELIVERY_ID_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert (tmp_path / KEY_FILE).read_text() == key


def test_a_secret_under_another_key_fails_the_delivery_instead_of_sending_it_unsigned(
    build: Build, registry: RegistryService, receiver: Receiver, tmp_path: Path
) -> None:
    hook = registry.create_webhook("ci", receiver.url, EVENT, secret=SECRET)
    other = build(allowed=["127.0.0.1"], path=tmp_path / "store.db", secret_key="k" * 40)
    result = other.test_webhook(hook.webhook_id)
    assert not result.success and result.error_message and "cannot be decrypted" in result.error_message
    assert receiver.requests == []


def test_the_secret_key_setting_replaces_the_key_file(build: Build, receiver: Receiver, tmp_path: Path) -> None:
    registry = build(allowed=["127.0.0.1"], secret_key="a-key-from-the-environment-" + "x" * 10)
    hook = registry.create_webhook("ci", receiver.url, EVENT, secret=SECRET)
    raw = _raw_secret(tmp_path / "store.db", hook.webhook_id)
    assert raw is not None and raw.startswith(PREFIX) and not (tmp_path / KEY_FILE).exists()
    assert registry.test_webhook(hook.webhook_id).success
    headers, body = receiver.requests[0]
    assert verify(SECRET, headers[DELIVERY_ID_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    with pytest.raises(InvalidParameter, match=r"DOCKYARD_SECRET_KEY is 5 characters; use at least 32"):
        build(secret_key="short")


def test_a_plaintext_secret_from_an_older_version_keeps_working_and_is_encrypted_on_update(
    registry: RegistryService, receiver: Receiver, tmp_path: Path
) -> None:
    # As an older Dockyard stored it: in plaintext.
    hook = registry.store.webhooks.create_webhook("old", receiver.url, EVENT, None, SECRET, WebhookStatus.ACTIVE)
    registry.webhooks.invalidate()
    assert _raw_secret(tmp_path / "store.db", hook.webhook_id) == SECRET
    registry.create_registered_model("churn")
    _idle(registry)
    registry.update_webhook(hook.webhook_id, description="any update encrypts it")
    raw = _raw_secret(tmp_path / "store.db", hook.webhook_id)
    assert raw is not None and raw.startswith(PREFIX) and SECRET not in raw
    registry.create_registered_model("churn2")
    _idle(registry)
    assert len(receiver.requests) == 2
    for headers, body in receiver.requests:  # signed with the same secret before and after
        assert verify(SECRET, headers[DELIVERY_ID_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


def test_verify_refuses_old_future_and_replayed_deliveries() -> None:
    body = b'{"entity":"model_version","action":"created"}'
    sent = 1_700_000_000
    signature = sign(SECRET, "d1", str(sent), body)
    assert verify(SECRET, "d1", str(sent), body, signature, now=sent + 299)
    assert not verify(SECRET, "d1", str(sent), body, signature, now=sent + 301)  # older than 5 minutes
    assert not verify(SECRET, "d1", str(sent), body, signature, now=sent - 301)  # too far in the future
    assert verify(SECRET, "d1", str(sent), body, signature, now=sent + 3600, tolerance=7200)
    assert not verify(SECRET, "d1", str(sent), body, signature, now=sent + 61, tolerance=60)
    assert verify(SECRET, "d1", str(sent), body, signature, now=sent + 10**8, tolerance=None)
    # A delivery captured ten minutes ago and replayed now, with its headers, is refused...
    captured = str(int(time.time()) - 600)
    assert not verify(SECRET, "d1", captured, body, sign(SECRET, "d1", captured, body))
    # ...and a fresh timestamp does not help without the secret: it is part of what is signed.
    assert not verify(SECRET, "d1", str(int(time.time())), body, sign(SECRET, "d1", captured, body))
    assert not verify(SECRET, "d1", "soon", body, sign(SECRET, "d1", "soon", body))


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext, list[str], list[str]]]:
    """An HTTPS receiver on 127.0.0.1 with a certificate for ``hooks.test`` only: (port, a client context
    trusting that certificate, the TLS server names it was asked for, the Host headers it got)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_names: list[str] = []
    hosts: list[str] = []
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    server_context.sni_callback = lambda _sock, server_name, _ctx: server_names.append(server_name) and None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], ssl.create_default_context(cafile=str(cert_file)), server_names, hosts
    server.shutdown()
    server.server_close()


def test_https_connects_to_the_checked_address_with_the_urls_server_name(tls_receiver: Any) -> None:
    port, trusted, server_names, hosts = tls_receiver
    allowed = AllowedHosts.parse(["hooks.test", "other.test"])
    send = PinnedSender(allowed, resolver=_resolves_to("127.0.0.1"), tls=trusted)
    assert send(f"https://hooks.test:{port}/hook", b"{}", {"Content-Type": "application/json"}, 5.0) == 204
    assert server_names == ["hooks.test"] and hosts == [f"hooks.test:{port}"]
    # The certificate is checked against the URL's host, not the address connected to.
    with pytest.raises(ssl.SSLCertVerificationError):
        send(f"https://other.test:{port}/hook", b"{}", {}, 5.0)
    with pytest.raises(DestinationRefused, match=r"resolves to a non-public address \(loopback\)"):
        PinnedSender(AllowedHosts(), resolver=_resolves_to("127.0.0.1"), tls=trusted)(
            f"https://hooks.test:{port}/hook", b"{}", {}, 5.0
        )
    assert hosts == [f"hooks.test:{port}"]
