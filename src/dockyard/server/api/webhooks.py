"""``/mlflow/webhooks`` (MLflow 3.3+'s webhook API): create, list, get, update, delete and test the
webhooks that receive registry events. The secret is write-only: it is never sent back (and is stored
encrypted). A test answers the receiver's status and the time taken, never its response body.
Destinations are checked by the registry (public addresses unless allowed).

Dockyard's own events (``model_version.stage_changed``) are not in MLflow's enums, and MLflow's client
fails to parse any answer that holds one (or a webhook without events). Unless the request sets
``include_dockyard_events`` (a query parameter of a GET, a body field otherwise), as Dockyard's own client
does, a webhook in an answer lists only its MLflow events, and a list leaves out a webhook that has only
Dockyard's (create, get and update answer such a webhook whole: it is not MLflow's to read). The webhook
itself keeps all its events and receives them either way."""

from __future__ import annotations

from typing import Any

from dockyard.registry import wire
from dockyard.server.api.registered_models import registry
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response

LIST_DEFAULT = 100


def _extras(p: Params) -> bool:
    return p.boolean(wire.INCLUDE_DOCKYARD_EVENTS)


def _webhook(webhook: Any, p: Params) -> dict[str, Any]:
    return {"webhook": wire.encode_webhook(webhook, dockyard_events=_extras(p))}


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
        ),
        p,
    )


def list_webhooks(ctx: ServerContext, p: Params) -> dict[str, Any]:
    page = registry(ctx).list_webhooks(
        max_results=p.integer("max_results", default=LIST_DEFAULT), page_token=p.string("page_token")
    )
    extras = _extras(p)
    # A page may come out shorter than max_results (even empty, with a next_page_token): MLflow's clients
    # follow the token, and the next page stays where it was.
    webhooks = [
        wire.encode_webhook(w, dockyard_events=extras) for w in page.items if extras or wire.has_mlflow_events(w)
    ]
    return page_response("webhooks", webhooks, page.next_page_token)


def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _webhook(registry(ctx).get_webhook(p.string("webhook_id", required=True)), p)


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
        ),
        p,
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
