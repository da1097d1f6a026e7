"""``/mlflow/registered-models/*`` (MLflow's model registry API), and the audit history at
``/dockyard/registry/events``.

Handlers: parse -> one registry service call -> encode with :mod:`dockyard.registry.wire`. Beyond
MLflow's fields, the alias calls take an optional ``reason`` and ``user_id`` for the audit history
(MLflow's client sends neither; the server's default user is recorded then).
"""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.core.wire import decode_key_values
from dockyard.registry import wire
from dockyard.registry.protocol import RegistryAPI
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response

SEARCH_DEFAULT = 100
EVENTS_DEFAULT = 1000


def registry(ctx: ServerContext) -> RegistryAPI:
    if ctx.registry is None:  # create_app only routes here with a registry; this guards direct calls
        raise InvalidParameter("this server has no model registry")
    return ctx.registry


def _model(model: Any) -> dict[str, Any]:
    return {"registered_model": wire.encode_registered_model(model)}


def create(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _model(
        registry(ctx).create_registered_model(
            p.string("name", required=True),
            tags=decode_key_values(p.raw("tags"), "tags"),
            description=p.string("description"),
        )
    )


def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _model(registry(ctx).get_registered_model(p.string("name", required=True)))


def rename(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _model(
        registry(ctx).rename_registered_model(p.string("name", required=True), p.string("new_name", required=True))
    )


def update(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _model(
        registry(ctx).update_registered_model(p.string("name", required=True), description=p.string("description"))
    )


def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).delete_registered_model(p.string("name", required=True))
    return {}


def search(ctx: ServerContext, p: Params) -> dict[str, Any]:
    page = registry(ctx).search_registered_models(
        filter_string=p.string("filter"),
        max_results=p.integer("max_results", default=SEARCH_DEFAULT),
        order_by=[str(o) for o in p.items("order_by")],
        page_token=p.string("page_token"),
    )
    return page_response(
        "registered_models", [wire.encode_registered_model(m) for m in page.items], page.next_page_token
    )


def latest_versions(ctx: ServerContext, p: Params) -> dict[str, Any]:
    versions = registry(ctx).get_latest_versions(p.string("name", required=True), [str(s) for s in p.items("stages")])
    return {"model_versions": [wire.encode_model_version(v) for v in versions]}


def set_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).set_registered_model_tag(
        p.string("name", required=True), p.string("key", required=True), p.string("value", default="")
    )
    return {}


def delete_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).delete_registered_model_tag(p.string("name", required=True), p.string("key", required=True))
    return {}


def set_alias(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).set_registered_model_alias(
        p.string("name", required=True),
        p.string("alias", required=True),
        p.string("version", required=True),
        reason=p.string("reason"),
        user_id=p.string("user_id"),
    )
    return {}


def delete_alias(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).delete_registered_model_alias(
        p.string("name", required=True),
        p.string("alias", required=True),
        reason=p.string("reason"),
        user_id=p.string("user_id"),
    )
    return {}


def get_by_alias(ctx: ServerContext, p: Params) -> dict[str, Any]:
    version = registry(ctx).get_model_version_by_alias(
        p.string("name", required=True), p.string("alias", required=True)
    )
    return {"model_version": wire.encode_model_version(version)}


def events(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """The audit history of a model: ``name``, optional ``alias``, ``max_results``, ``page_token``,
    ``newest_first``."""
    page = registry(ctx).get_registry_events(
        p.string("name", required=True),
        alias=p.string("alias"),
        max_results=p.integer("max_results", default=EVENTS_DEFAULT),
        page_token=p.string("page_token"),
        newest_first=p.boolean("newest_first"),
    )
    return page_response("events", [wire.encode_event(e) for e in page.items], page.next_page_token)


ROUTES = [
    ("POST", "/mlflow/registered-models/create", create),
    ("GET", "/mlflow/registered-models/get", get),
    ("POST", "/mlflow/registered-models/rename", rename),
    ("PATCH", "/mlflow/registered-models/update", update),
    ("DELETE", "/mlflow/registered-models/delete", delete),
    ("GET", "/mlflow/registered-models/search", search),
    ("POST", "/mlflow/registered-models/get-latest-versions", latest_versions),
    ("GET", "/mlflow/registered-models/get-latest-versions", latest_versions),
    ("POST", "/mlflow/registered-models/set-tag", set_tag),
    ("DELETE", "/mlflow/registered-models/delete-tag", delete_tag),
    ("POST", "/mlflow/registered-models/alias", set_alias),
    ("DELETE", "/mlflow/registered-models/alias", delete_alias),
    ("GET", "/mlflow/registered-models/alias", get_by_alias),
    ("GET", "/dockyard/registry/events", events),
]
