"""``/mlflow/experiments/*``."""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import ExperimentNotFound
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response
from dockyard.tracking import wire
from dockyard.tracking.entities import ViewType

MAX_RESULTS_DEFAULT = 1000


def create(ctx: ServerContext, p: Params) -> dict[str, Any]:
    experiment_id = ctx.tracking.create_experiment(
        p.string("name", required=True),
        p.string("artifact_location") or None,
        wire.decode_key_values(p.raw("tags"), "tags"),
    )
    return {"experiment_id": experiment_id}


def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return {"experiment": wire.encode_experiment(ctx.tracking.get_experiment(p.string("experiment_id", required=True)))}


def get_by_name(ctx: ServerContext, p: Params) -> dict[str, Any]:
    name = p.string("experiment_name", required=True)
    experiment = ctx.tracking.get_experiment_by_name(name)
    if experiment is None:
        raise ExperimentNotFound(f"Could not find experiment with name '{name}'")
    return {"experiment": wire.encode_experiment(experiment)}


def search(ctx: ServerContext, p: Params) -> dict[str, Any]:
    page = ctx.tracking.search_experiments(
        view_type=_view_type(p.raw("view_type")),
        max_results=p.integer("max_results", default=MAX_RESULTS_DEFAULT),
        filter_string=p.string("filter"),
        order_by=[str(o) for o in p.items("order_by")],
        page_token=p.string("page_token"),
    )
    return page_response("experiments", [wire.encode_experiment(e) for e in page.items], page.next_page_token)


def _view_type(value: Any) -> ViewType | str:
    # Enums arrive by name, or by number from clients that send protobuf's integer form.
    by_number = {1: ViewType.ACTIVE_ONLY, 2: ViewType.DELETED_ONLY, 3: ViewType.ALL}
    if value is None or value == "":
        return ViewType.ACTIVE_ONLY
    if isinstance(value, int) and not isinstance(value, bool):
        return by_number.get(value, str(value))
    if isinstance(value, str) and value.isdigit():
        return by_number.get(int(value), value)
    return str(value)


def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_experiment(p.string("experiment_id", required=True))
    return {}


def restore(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.restore_experiment(p.string("experiment_id", required=True))
    return {}


def update(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.rename_experiment(p.string("experiment_id", required=True), p.string("new_name", required=True))
    return {}


def set_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.set_experiment_tag(
        p.string("experiment_id", required=True), p.string("key", required=True), p.string("value", default="")
    )
    return {}


def delete_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_experiment_tag(p.string("experiment_id", required=True), p.string("key", required=True))
    return {}


ROUTES = [
    ("POST", "/mlflow/experiments/create", create),
    ("GET", "/mlflow/experiments/get", get),
    ("GET", "/mlflow/experiments/get-by-name", get_by_name),
    ("POST", "/mlflow/experiments/search", search),
    ("GET", "/mlflow/experiments/search", search),
    ("POST", "/mlflow/experiments/delete", delete),
    ("POST", "/mlflow/experiments/restore", restore),
    ("POST", "/mlflow/experiments/update", update),
    ("POST", "/mlflow/experiments/set-experiment-tag", set_tag),
    ("POST", "/mlflow/experiments/delete-experiment-tag", delete_tag),
]
