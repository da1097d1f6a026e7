"""``/mlflow/model-versions/*`` (MLflow's model registry API): parse -> one registry call -> encode.

``transition-stage`` also takes an optional ``reason`` and ``user_id`` for the audit history.
"""

from __future__ import annotations

from typing import Any

from dockyard.core.wire import decode_key_values
from dockyard.registry import wire
from dockyard.registry.sources import invalid_source
from dockyard.server.api.registered_models import registry
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response
from dockyard.tracking.registrations import record_registration

SEARCH_DEFAULT = 10_000  # MLflow's client default; the proto's is the cap (200,000)


def _version(version: Any) -> dict[str, Any]:
    return {"model_version": wire.encode_model_version(version)}


def _name_version(p: Params) -> tuple[str, str]:
    return p.string("name", required=True), p.string("version", required=True)


def create(ctx: ServerContext, p: Params) -> dict[str, Any]:
    name, source = p.string("name", required=True), p.string("source", required=True)
    run_id = p.string("run_id") or None
    if run_id is None and source.startswith("runs:/"):
        raise invalid_source(source, "run_id")  # MLflow's server wants the run named twice
    version = registry(ctx).create_model_version(
        name,
        source,
        run_id=run_id,
        tags=decode_key_values(p.raw("tags"), "tags"),
        description=p.string("description"),
        model_id=p.string("model_id") or None,
        run_link=p.string("run_link") or None,
        user_id=p.string("user_id") or None,
    )
    if version.model_id:
        record_registration(ctx.tracking, version.model_id, version.name, int(version.version))
    return _version(version)


def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _version(registry(ctx).get_model_version(*_name_version(p)))


def update(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _version(registry(ctx).update_model_version(*_name_version(p), description=p.string("description")))


def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).delete_model_version(*_name_version(p), user_id=p.string("user_id") or None)
    return {}


def transition_stage(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _version(
        registry(ctx).transition_model_version_stage(
            *_name_version(p),
            p.string("stage", required=True),
            archive_existing_versions=p.boolean("archive_existing_versions"),
            reason=p.string("reason"),
            user_id=p.string("user_id") or None,
        )
    )


def search(ctx: ServerContext, p: Params) -> dict[str, Any]:
    page = registry(ctx).search_model_versions(
        filter_string=p.string("filter"),
        max_results=p.integer("max_results", default=SEARCH_DEFAULT),
        order_by=[str(o) for o in p.items("order_by")],
        page_token=p.string("page_token"),
    )
    return page_response("model_versions", [wire.encode_model_version(v) for v in page.items], page.next_page_token)


def download_uri(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return {"artifact_uri": registry(ctx).get_model_version_download_uri(*_name_version(p))}


def set_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).set_model_version_tag(
        *_name_version(p), p.string("key", required=True), p.string("value", default="")
    )
    return {}


def delete_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).delete_model_version_tag(*_name_version(p), p.string("key", required=True))
    return {}


ROUTES = [
    ("POST", "/mlflow/model-versions/create", create),
    ("GET", "/mlflow/model-versions/get", get),
    ("PATCH", "/mlflow/model-versions/update", update),
    ("DELETE", "/mlflow/model-versions/delete", delete),
    ("POST", "/mlflow/model-versions/transition-stage", transition_stage),
    ("GET", "/mlflow/model-versions/search", search),
    ("GET", "/mlflow/model-versions/get-download-uri", download_uri),
    ("POST", "/mlflow/model-versions/set-tag", set_tag),
    ("DELETE", "/mlflow/model-versions/delete-tag", delete_tag),
]
