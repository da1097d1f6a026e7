"""Dockyard's registry calls MLflow has no endpoint for (``/api/2.0/dockyard/registry/...``): promote,
rollback, lineage and the webhook delivery log. Handlers: parse -> one registry call -> encode."""

from __future__ import annotations

from typing import Any

from dockyard.registry import wire
from dockyard.registry.lineage import encode_lineage
from dockyard.server.api.registered_models import registry
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response

DELIVERIES_DEFAULT = 100


def promote(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``name``, ``version``, ``alias`` and/or ``stage``, ``archive_existing``, ``reason``, ``user_id``;
    ``force`` (with a ``reason``) goes past a validation gate, recorded in the audit history."""
    version = registry(ctx).promote(
        p.string("name", required=True),
        p.string("version", required=True),
        alias=p.string("alias") or None,
        stage=p.string("stage") or None,
        reason=p.string("reason"),
        user_id=p.string("user_id") or None,
        archive_existing=p.boolean("archive_existing"),
        force=p.boolean("force"),
    )
    return {"model_version": wire.encode_model_version(version)}


def rollback(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``name``, ``alias``, ``reason``, ``user_id``; answers the version the alias points to now."""
    version = registry(ctx).rollback(
        p.string("name", required=True),
        p.string("alias", required=True),
        reason=p.string("reason"),
        user_id=p.string("user_id") or None,
    )
    return {"model_version": wire.encode_model_version(version)}


def lineage(ctx: ServerContext, p: Params) -> dict[str, Any]:
    found = registry(ctx).get_model_version_lineage(p.string("name", required=True), p.string("version", required=True))
    return {"lineage": encode_lineage(found)}


def deliveries(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """Webhook delivery attempts, newest first: optional ``webhook_id``, ``max_results``, ``page_token``."""
    page = registry(ctx).list_webhook_deliveries(
        p.string("webhook_id") or None,
        max_results=p.integer("max_results", default=DELIVERIES_DEFAULT),
        page_token=p.string("page_token"),
    )
    return page_response("deliveries", [wire.encode_delivery(d) for d in page.items], page.next_page_token)


ROUTES = [
    ("POST", "/dockyard/registry/promote", promote),
    ("POST", "/dockyard/registry/rollback", rollback),
    ("GET", "/dockyard/registry/lineage", lineage),
    ("GET", "/dockyard/registry/webhook-deliveries", deliveries),
]
