"""``/mlflow/webhooks`` (MLflow 3.3+'s webhook API): create, list, get, update, delete and test the
webhooks that receive registry events. The secret is write-only: it is never sent back (and is stored
encrypted). A test answers the receiver's status and the time taken, never its response body.
Destinations are checked by the registry (public addresses unless allowed)."""

from __future__ import annotations

from typing import Any

from dockyard.registry import wire
from dockyard.server.api.registered_models import registry
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response

LIST_DEFAULT = 100


def _webhook(webhook: Any) -> dict[str, Any]:
    return {"webhook": wire.encode_webhook(webhook)}


def _events(p: Params) -> list[str] | None:
    raw = p.raw("events")
    return None if raw is None else [wire.decode_webhook_event(e) for e in p.items("events")]


def create(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _webhook(
        registry(ctx).create_webhook(
            p.string("name", required=True),
            p.string("url", required=True),
            _events(p) or [],
            description=p.string("description"),
            secret=p.string("secret"),
            status=p.string("status") or "ACTIVE",
        )
    )


def list_webhooks(ctx: ServerContext, p: Params) -> dict[str, Any]:
    page = registry(ctx).list_webhooks(
        max_results=p.integer("max_results", default=LIST_DEFAULT), page_token=p.string("page_token")
    )
    return page_response("webhooks", [wire.encode_webhook(w) for w in page.items], page.next_page_token)


def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _webhook(registry(ctx).get_webhook(p.string("webhook_id", required=True)))


def update(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _webhook(
        registry(ctx).update_webhook(
            p.string("webhook_id", required=True),
            name=p.string("name") or None,
            description=p.string("description"),
            url=p.string("url") or None,
            events=_events(p) or None,
            secret=p.string("secret"),
            status=p.string("status") or None,
        )
    )


def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).delete_webhook(p.string("webhook_id", required=True))
    return {}


def test(ctx: ServerContext, p: Params) -> dict[str, Any]:
    event = p.raw("event")
    result = registry(ctx).test_webhook(
        p.string("webhook_id", required=True), None if not event else wire.decode_webhook_event(event)
    )
    return {"result": wire.encode_test_result(result)}


ROUTES = [
    ("POST", "/mlflow/webhooks", create),
    ("GET", "/mlflow/webhooks", list_webhooks),
    ("GET", "/mlflow/webhooks/{webhook_id}", get),
    ("PATCH", "/mlflow/webhooks/{webhook_id}", update),
    ("DELETE", "/mlflow/webhooks/{webhook_id}", delete),
    ("POST", "/mlflow/webhooks/{webhook_id}/test", test),
]
