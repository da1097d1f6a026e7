"""``/mlflow/runs/*`` and ``/mlflow/metrics/get-history``."""

from __future__ import annotations

import json
from typing import Any

from dockyard.core.clock import now_ms
from dockyard.core.errors import InvalidParameter
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response
from dockyard.tracking import wire
from dockyard.tracking.entities import Metric, ModelInput, ViewType

SEARCH_DEFAULT = 1000
HISTORY_DEFAULT = 25_000  # what MLflow's client sends; also the cap
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"


def _run_id(p: Params) -> str:
    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        raise InvalidParameter("Missing value for required parameter 'run_id'")
    return str(run_id)


def create(ctx: ServerContext, p: Params) -> dict[str, Any]:
    run = ctx.tracking.create_run(
        p.string("experiment_id", default="0") or "0",
        user_id=p.string("user_id"),
        start_time=p.integer("start_time"),
        run_name=p.string("run_name") or None,
        tags=wire.decode_key_values(p.raw("tags"), "tags"),
    )
    return {"run": wire.encode_run(run)}


def update(ctx: ServerContext, p: Params) -> dict[str, Any]:
    info = ctx.tracking.update_run(
        _run_id(p),
        status=p.string("status") or None,
        end_time=p.integer("end_time"),
        run_name=p.string("run_name") or None,
    )
    return {"run_info": wire.encode_run_info(info)}


def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_run(_run_id(p))
    return {}


def restore(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.restore_run(_run_id(p))
    return {}


def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return {"run": wire.encode_run(ctx.tracking.get_run(_run_id(p)))}


def log_metric(ctx: ServerContext, p: Params) -> dict[str, Any]:
    metric = Metric(
        key=p.string("key", required=True),
        value=wire.decode_double(p.raw("value"), "value") if p.raw("value") is not None else _missing("value"),
        timestamp=p.integer("timestamp", default=now_ms()),
        step=p.integer("step", default=0),
        # MLflow 3: the logged model (and evaluation dataset) this value describes
        model_id=p.string("model_id") or None,
        dataset_name=p.string("dataset_name") or None,
        dataset_digest=p.string("dataset_digest") or None,
    )
    ctx.tracking.log_batch(_run_id(p), metrics=[metric])
    return {}


def _missing(name: str) -> float:
    raise InvalidParameter(f"Missing value for required parameter '{name}'")


def log_param(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.log_param(_run_id(p), p.string("key", required=True), p.string("value", default=""))
    return {}


def set_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.set_tag(_run_id(p), p.string("key", required=True), p.string("value", default=""))
    return {}


def delete_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_tag(_run_id(p), p.string("key", required=True))
    return {}


def log_batch(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.log_batch(
        _run_id(p),
        metrics=[wire.decode_metric(m, f"metrics[{i}]") for i, m in enumerate(p.items("metrics"))],
        params=wire.decode_params(p.raw("params")),
        tags=wire.decode_tags(p.raw("tags")),
    )
    return {}


def log_inputs(ctx: ServerContext, p: Params) -> dict[str, Any]:
    datasets = [wire.decode_dataset_input(d, f"datasets[{i}]") for i, d in enumerate(p.items("datasets"))]
    models = []
    for i, item in enumerate(p.items("models")):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise InvalidParameter(f"models[{i}]: expected an object with 'model_id'")
        models.append(ModelInput(str(item["model_id"])))
    ctx.tracking.log_inputs(_run_id(p), datasets, models)
    return {}


def log_model(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """MLflow 2.x clients record each logged model on the run, in a JSON-list tag."""
    run_id = _run_id(p)
    model_json = p.string("model_json", required=True)
    try:
        model = json.loads(model_json)
    except ValueError:
        raise InvalidParameter("model_json is not valid JSON") from None
    run = ctx.tracking.get_run(run_id)
    history = json.loads(run.data.tags.get(LOG_MODEL_HISTORY_TAG, "[]"))
    history.append(model)
    ctx.tracking.set_tag(run_id, LOG_MODEL_HISTORY_TAG, json.dumps(history))
    return {}


def search(ctx: ServerContext, p: Params) -> dict[str, Any]:
    from dockyard.server.api.experiments import _view_type

    page = ctx.tracking.search_runs(
        [str(e) for e in p.items("experiment_ids")],
        filter_string=p.string("filter"),
        run_view_type=_view_type(p.raw("run_view_type")) or ViewType.ACTIVE_ONLY,
        max_results=p.integer("max_results", default=SEARCH_DEFAULT),
        order_by=[str(o) for o in p.items("order_by")],
        page_token=p.string("page_token"),
    )
    return page_response("runs", [wire.encode_run(r) for r in page.items], page.next_page_token)


def get_history(ctx: ServerContext, p: Params) -> dict[str, Any]:
    page = ctx.tracking.get_metric_history(
        _run_id(p),
        p.string("metric_key", required=True),
        max_results=min(p.integer("max_results", default=HISTORY_DEFAULT), HISTORY_DEFAULT),
        page_token=p.string("page_token"),
    )
    return page_response("metrics", [wire.encode_metric(m, with_run_id=True) for m in page.items], page.next_page_token)


ROUTES = [
    ("POST", "/mlflow/runs/create", create),
    ("POST", "/mlflow/runs/update", update),
    ("POST", "/mlflow/runs/delete", delete),
    ("POST", "/mlflow/runs/restore", restore),
    ("GET", "/mlflow/runs/get", get),
    ("POST", "/mlflow/runs/log-metric", log_metric),
    ("POST", "/mlflow/runs/log-parameter", log_param),
    ("POST", "/mlflow/runs/set-tag", set_tag),
    ("POST", "/mlflow/runs/delete-tag", delete_tag),
    ("POST", "/mlflow/runs/log-batch", log_batch),
    ("POST", "/mlflow/runs/log-inputs", log_inputs),
    ("POST", "/mlflow/runs/log-model", log_model),
    ("POST", "/mlflow/runs/search", search),
    ("GET", "/mlflow/metrics/get-history", get_history),
]
