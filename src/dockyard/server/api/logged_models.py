"""``/mlflow/logged-models/*`` and ``/mlflow/runs/outputs`` (MLflow 3; its ``log_model`` needs them)."""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response
from dockyard.tracking import wire
from dockyard.tracking.entities import ModelOutput

SEARCH_DEFAULT = 50


def _model(ctx: ServerContext, model_id: str) -> dict[str, Any]:
    return {"model": wire.encode_logged_model(ctx.tracking.get_logged_model(model_id))}


def create(ctx: ServerContext, p: Params) -> dict[str, Any]:
    model = ctx.tracking.create_logged_model(
        p.string("experiment_id", required=True),
        name=p.string("name") or None,
        model_type=p.string("model_type") or None,
        source_run_id=p.string("source_run_id") or None,
        params=wire.decode_key_values(p.raw("params"), "params"),
        tags=wire.decode_key_values(p.raw("tags"), "tags"),
    )
    return {"model": wire.encode_logged_model(model)}


def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return _model(ctx, p.string("model_id", required=True))


def finalize(ctx: ServerContext, p: Params) -> dict[str, Any]:
    model = ctx.tracking.finalize_logged_model(p.string("model_id", required=True), p.string("status", required=True))
    return {"model": wire.encode_logged_model(model)}


def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_logged_model(p.string("model_id", required=True))
    return {}


def set_tags(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.set_logged_model_tags(
        p.string("model_id", required=True), wire.decode_key_values(p.raw("tags"), "tags")
    )
    return {}


def delete_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_logged_model_tag(p.string("model_id", required=True), p.string("tag_key", required=True))
    return {}


def log_params(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.log_logged_model_params(
        p.string("model_id", required=True), wire.decode_key_values(p.raw("params"), "params")
    )
    return {}


def _order_clause(item: Any) -> str:
    """MLflow sends structured ``{field_name, ascending}`` entries; we take strings too."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict) or not item.get("field_name"):
        raise InvalidParameter(f"order_by: expected {{field_name, ascending}}, got {item!r}")
    ascending = item.get("ascending", True)
    if isinstance(ascending, str):
        ascending = ascending.lower() != "false"
    return f"{item['field_name']} {'ASC' if ascending else 'DESC'}"


def search(ctx: ServerContext, p: Params) -> dict[str, Any]:
    page = ctx.tracking.search_logged_models(
        [str(e) for e in p.items("experiment_ids")],
        filter_string=p.string("filter"),
        order_by=[_order_clause(o) for o in p.items("order_by")],
        max_results=p.integer("max_results", default=SEARCH_DEFAULT),
        page_token=p.string("page_token"),
        datasets=[wire.decode_dataset_ref(d, f"datasets[{i}]") for i, d in enumerate(p.items("datasets"))],
    )
    return page_response("models", [wire.encode_logged_model(m) for m in page.items], page.next_page_token)


def log_outputs(ctx: ServerContext, p: Params) -> dict[str, Any]:
    run_id = p.string("run_id", required=True)
    outputs = []
    for i, item in enumerate(p.items("models")):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise InvalidParameter(f"models[{i}]: expected an object with 'model_id'")
        outputs.append(
            ModelOutput(str(item["model_id"]), wire.decode_int(item.get("step"), f"models[{i}].step", 0) or 0)
        )
    ctx.tracking.log_outputs(run_id, outputs)
    return {}


ROUTES = [
    ("POST", "/mlflow/logged-models/search", search),
    ("POST", "/mlflow/logged-models", create),
    ("GET", "/mlflow/logged-models/{model_id}", get),
    ("PATCH", "/mlflow/logged-models/{model_id}", finalize),
    ("DELETE", "/mlflow/logged-models/{model_id}", delete),
    ("PATCH", "/mlflow/logged-models/{model_id}/tags", set_tags),
    ("DELETE", "/mlflow/logged-models/{model_id}/tags/{tag_key}", delete_tag),
    ("POST", "/mlflow/logged-models/{model_id}/params", log_params),
    ("POST", "/mlflow/runs/outputs", log_outputs),
]
