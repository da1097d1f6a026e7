"""Registry events to webhooks: signed JSON POSTs, sent from a background thread, retried, logged.

Event names and payloads are MLflow's (3.3+) where MLflow has the event; ``model_version.stage_changed``
is Dockyard's own. A POST body is ``{"entity", "action", "timestamp", "data"}`` and carries MLflow's
headers, so receivers written for MLflow verify Dockyard's deliveries unchanged:

- ``X-MLflow-Delivery-Id``: one id per event and webhook, the same on every retry;
- ``X-MLflow-Timestamp``: Unix seconds of this attempt;
- ``X-MLflow-Signature``: ``v1,`` + base64 of HMAC-SHA256(secret, ``"<delivery id>.<timestamp>.<body>"``)
  (absent when the webhook has no secret).

:class:`WebhookDispatcher` is called after a write has committed. It looks up the subscribed webhooks
(cached for ``cache_seconds``; changes through the same service clear the cache) and queues one
delivery per webhook; a worker thread, started when there is work and gone when there is none, sends
them. A 2xx answer succeeds; a network error, a timeout, 408, 429 or 5xx is retried after
``backoff * 2**(attempt-1)`` seconds (at most ``max_backoff``) until ``max_attempts``; any other answer
fails at once. Every attempt is a row of ``webhook_deliveries``. Queued deliveries live in memory: they
survive as long as the process runs, and at exit the process waits up to ``drain_seconds`` for them.

Safety (:mod:`~dockyard.registry.webhook_destinations`): a delivery goes only to a public address, checked
after DNS resolution and connected to as checked, unless the host is in ``allowed_hosts``
(``DOCKYARD_WEBHOOK_ALLOWED_HOSTS``); a refused destination fails at once, without retries. Redirects
are not followed: a 3xx answer fails. Secrets are stored encrypted
(:mod:`~dockyard.registry.webhook_secrets`) and decrypted only to sign. A test delivery reports the
status and the time taken, never the receiver's answer.

>>> sig = sign("s3cret", "d1", "1700000000", b'{"a": 1}')
>>> sig.startswith("v1,") and verify("s3cret", "d1", "1700000000", b'{"a": 1}', sig, now=1700000060)
True
>>> verify("s3cret", "d1", "1700000000", b'{"a": 1}', sig, now=1700000000 + 301)  # too old: a replay
False
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import heapq
import hmac
import json
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from dockyard.__about__ import __version__
from dockyard.core.clock import now_ms
from dockyard.core.errors import DockyardError
from dockyard.registry.entities import (
    DeliveryStatus,
    RegistryEvent,
    RegistryEventKind,
    Webhook,
    WebhookDelivery,
)
from dockyard.registry.store import WebhookStore
from dockyard.registry.webhook_destinations import AllowedHosts, DestinationRefused, PinnedSender
from dockyard.registry.webhook_secrets import SecretBox, SecretUnreadable

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"

RETRIED_STATUSES = frozenset({408, 429})
TIMESTAMP_TOLERANCE = 300.0  # seconds: how old (or how far ahead) a delivery's timestamp may be in verify
_MV = {"name": "example-model", "version": "1"}
SAMPLES: dict[str, dict[str, Any]] = {  # what a test delivery sends
    "registered_model.created": {"name": "example-model", "tags": {}, "description": None},
    "model_version.created": {**_MV, "source": "models:/m-example", "run_id": None, "tags": {}, "description": None},
    "model_version_tag.set": {**_MV, "key": "example-key", "value": "example-value"},
    "model_version_tag.deleted": {**_MV, "key": "example-key"},
    "model_version_alias.created": {**_MV, "alias": "champion", "from_version": None, "rollback": False},
    "model_version_alias.deleted": {**_MV, "alias": "champion"},
    "model_version.stage_changed": {**_MV, "stage": "Production", "from_stage": "None"},
    "model_version.drift_detected": {
        **_MV,
        "drifted": ["income"],
        "failed_rules": [],
        "metrics": {"max_psi": 0.41},
        "run_id": None,
    },
}

# (url, body, headers, timeout seconds) -> HTTP status; raises OSError when no answer (retried) and
# DestinationRefused for a destination webhooks may not reach (not retried).
Sender = Callable[[str, bytes, dict[str, str], float], int]


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str,
    delivery_id: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float | None = TIMESTAMP_TOLERANCE,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the signature matches (compared in constant time) and the timestamp is
    within ``tolerance`` seconds of ``now`` (default: the clock), so a captured delivery cannot be replayed
    later. ``tolerance=None`` skips the time check (re-verifying a stored delivery). Within the window a
    receiver drops repeats by ``X-MLflow-Delivery-Id`` (the same on every retry of one delivery)."""
    if not hmac.compare_digest(sign(secret, delivery_id, timestamp, body), signature):
        return False
    if tolerance is None:
        return True
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    return abs((time.time() if now is None else now) - sent) <= tolerance


def event_payload(event: RegistryEvent) -> tuple[str, dict[str, Any]]:
    """The webhook event name and ``data`` for an audit event."""
    common = {"name": event.name, "reason": event.reason, "user_id": event.user_id}
    if event.kind is RegistryEventKind.ALIAS_SET:
        return "model_version_alias.created", {
            **common,
            "alias": event.alias,
            "version": str(event.to_version),
            "from_version": None if event.from_version is None else str(event.from_version),
            "rollback": event.is_rollback,
        }
    if event.kind is RegistryEventKind.ALIAS_DELETED:
        return "model_version_alias.deleted", {**common, "alias": event.alias, "version": str(event.from_version)}
    return "model_version.stage_changed", {
        **common,
        "version": str(event.to_version),
        "stage": None if event.stage is None else event.stage.value,
        "from_stage": None if event.from_stage is None else event.from_stage.value,
    }


def body_for(event: str, data: dict[str, Any]) -> bytes:
    entity, _, action = event.partition(".")
    envelope = {"entity": entity, "action": action, "timestamp": datetime.now(UTC).isoformat(), "data": data}
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class TestResult:
    """What a test delivery got back (MLflow's ``WebhookTestResult``, plus ``duration_ms``).

    ``response_body`` is MLflow's field and always None here: the receiver's answer is never passed on
    (a webhook pointed at an internal service would otherwise read it back)."""

    success: bool
    response_status: int | None = None
    response_body: str | None = None
    error_message: str | None = None
    duration_ms: int | None = None  # from the lookup to the answer's status line


@dataclass(frozen=True)
class _Outcome:
    status: int | None  # the HTTP status; None: no answer
    error: str | None  # None: delivered (2xx)
    retriable: bool
    duration_ms: int


@dataclass(frozen=True)
class _Job:
    webhook: Webhook
    secret: str | None
    delivery_id: str
    event: str
    body: bytes
    model_name: str | None
    attempt: int = 1


_dispatchers: weakref.WeakSet[WebhookDispatcher] = weakref.WeakSet()


@atexit.register
def _drain_at_exit() -> None:
    for dispatcher in list(_dispatchers):
        dispatcher.close()


class WebhookDispatcher:
    def __init__(
        self,
        store: WebhookStore,
        *,
        allowed_hosts: Iterable[str] = (),
        secret_key: str | None = None,
        send: Sender | None = None,
        max_attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 10.0,
        cache_seconds: float = 2.0,
        drain_seconds: float = 10.0,
    ) -> None:
        self.store = store
        self.allowed_hosts = AllowedHosts.parse(allowed_hosts)
        self.secrets = SecretBox.configured(secret_key, store.data_folder())
        self.send: Sender = send or PinnedSender(self.allowed_hosts)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.drain_seconds = drain_seconds
        self._cache: dict[str, tuple[float, list[tuple[Webhook, str | None]]]] = {}
        self._queue: list[tuple[float, int, _Job]] = []  # a heap of (due, sequence, job)
        self._sequence = 0
        self._busy = 0
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        _dispatchers.add(self)

    # ------------------------------------------------------------------ queueing

    def invalidate(self) -> None:
        """Forget the cached subscriptions (after a webhook was created, changed or removed)."""
        with self._cond:
            self._cache.clear()

    def _subscribers(self, event: str) -> list[tuple[Webhook, str | None]]:
        now = time.monotonic()
        with self._cond:
            cached = self._cache.get(event)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = self.store.subscribers(event)
        with self._cond:
            self._cache[event] = (now + self.cache_seconds, found)
        return found

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Queue ``event`` for every active webhook subscribed to it; returns at once.

        The write that caused the event has committed; if the subscriptions cannot be read the error
        is logged and the write stands (its audit event is in the history either way)."""
        try:
            hooks = self._subscribers(event)
        except DockyardError as exc:
            log.error("webhooks: cannot read the subscriptions for %s: %s", event, exc)
            return
        if not hooks:
            return
        body = body_for(event, data)
        for webhook, secret in hooks:
            self._schedule(_Job(webhook, secret, uuid.uuid4().hex, event, body, data.get("name")), 0.0)

    def _schedule(self, job: _Job, delay: float) -> None:
        with self._cond:
            self._sequence += 1
            heapq.heappush(self._queue, (time.monotonic() + delay, self._sequence, job))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="dockyard-webhooks", daemon=True)
                self._worker.start()
            self._cond.notify_all()

    def _next_job(self) -> _Job | None:
        with self._cond:
            while True:
                if not self._queue:
                    self._worker = None  # nothing left: the thread ends; the next publish starts another
                    self._cond.notify_all()
                    return None
                due = self._queue[0][0] - time.monotonic()
                if due <= 0:
                    self._busy += 1
                    return heapq.heappop(self._queue)[2]
                self._cond.wait(due)

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                self._attempt(job)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    # ------------------------------------------------------------------ sending

    def _post(self, job: _Job) -> _Outcome:
        """One POST of the job's body, freshly signed; what came of it."""
        started = time.monotonic()

        def outcome(status: int | None, error: str | None, retriable: bool) -> _Outcome:
            return _Outcome(status, error, retriable, round((time.monotonic() - started) * 1000))

        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"dockyard/{__version__}",
            DELIVERY_ID_HEADER: job.delivery_id,
            TIMESTAMP_HEADER: timestamp,
        }
        try:
            secret = self.secrets.open(job.secret)
        except (SecretUnreadable, DockyardError, OSError) as exc:  # another key, no cryptography, no key file
            return outcome(None, f"cannot sign: {exc}", False)  # never sent unsigned
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, job.delivery_id, timestamp, job.body)
        try:
            status = self.send(job.webhook.url, job.body, headers, self.timeout)
        except DestinationRefused as exc:
            return outcome(None, f"refused: {exc}", False)
        except OSError as exc:  # refused, unreachable, timed out, TLS...
            return outcome(None, f"{type(exc).__name__}: {exc}", True)
        except Exception as exc:  # a URL the network layer cannot use (an unencodable name...): not retried
            return outcome(None, f"{type(exc).__name__}: {exc}", False)
        if 200 <= status < 300:
            return outcome(status, None, False)
        if 300 <= status < 400:
            return outcome(status, f"HTTP {status}: redirects are not followed", False)
        return outcome(status, f"HTTP {status}", status in RETRIED_STATUSES or status >= 500)

    def _attempt(self, job: _Job) -> None:
        result = self._post(job)
        if result.error is None:
            outcome = DeliveryStatus.SUCCEEDED
        elif result.retriable and job.attempt < self.max_attempts:
            outcome = DeliveryStatus.RETRYING
        else:
            outcome = DeliveryStatus.FAILED
        self._record(job, outcome, result.status, result.error)
        if outcome is DeliveryStatus.RETRYING:
            delay = min(self.backoff * 2 ** (job.attempt - 1), self.max_backoff)
            self._schedule(replace(job, attempt=job.attempt + 1), delay)
        elif outcome is DeliveryStatus.FAILED:
            log.warning(
                "webhooks: gave up on %s to %s after %d attempt(s): %s",
                job.event,
                job.webhook.url,
                job.attempt,
                result.error,
            )

    def _record(self, job: _Job, outcome: DeliveryStatus, status: int | None, error: str | None) -> None:
        attempt = WebhookDelivery(
            id=0,
            webhook_id=job.webhook.webhook_id,
            delivery_id=job.delivery_id,
            event=job.event,
            attempt=job.attempt,
            timestamp=now_ms(),
            status=outcome,
            model_name=job.model_name,
            response_status=status,
            error=error,
            payload=job.body.decode("utf-8"),
        )
        try:
            self.store.record_attempt(attempt)
        except DockyardError as exc:  # the delivery itself went ahead; only its log entry is lost
            log.error("webhooks: cannot record delivery %s attempt %d: %s", job.delivery_id, job.attempt, exc)

    def test(self, webhook_id: str, event: str | None = None) -> TestResult:
        """Send ``event`` (default: the webhook's first) with sample data now, once, and record it."""
        webhook = self.store.get_webhook(webhook_id)
        chosen = event or webhook.events[0]
        sample = SAMPLES[chosen]
        job = _Job(webhook, self.store.get_secret(webhook_id), uuid.uuid4().hex, chosen, body_for(chosen, sample), "")
        result = self._post(job)
        succeeded = result.error is None
        self._record(job, DeliveryStatus.SUCCEEDED if succeeded else DeliveryStatus.FAILED, result.status, result.error)
        return TestResult(succeeded, result.status, None, result.error, result.duration_ms)

    # ------------------------------------------------------------------ lifecycle

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued delivery (retries included) is done; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self) -> None:
        """Give queued deliveries up to ``drain_seconds`` to finish (at exit, or when the service closes)."""
        if not self.wait_idle(self.drain_seconds):
            with self._cond:
                left = len(self._queue) + self._busy
            log.warning("webhooks: %d delivery attempt(s) still queued at close were not made", left)
