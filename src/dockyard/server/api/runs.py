"""``/mlflow/runs/*`` and ``/mlflow/metrics/get-history``."""

from __future__ import annotations

import json
from typing import Any

from dockyard.core.errors import InvalidParameter, RunNotFound
from dockyard.core.validation import API_DOCS, invalid_value, missing_value
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, page_response
from dockyard.tracking import wire
from dockyard.tracking.entities import LOG_MODEL_HISTORY_TAG, Metric, ModelInput, ViewType

SEARCH_DEFAULT = 1000
HISTORY_DEFAULT = 25_000  # what MLflow's client sends; also the cap


def _run_id(p: Params) -> str:
    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        raise InvalidParameter(missing_value("run_id"))
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
    run_id = _run_id(p)
    key = p.string("key", required=True)
    value = p.raw("value")
    if value is None or value == "":
        raise InvalidParameter(missing_value("value"))
    metric = Metric(
        key=key,
        value=wire.decode_double(value, "value"),
        # Required, as MLflow has it: a point without a time would be stored at 1970 (or at "now",
        # which reorders a history that a client replays).
        timestamp=p.integer("timestamp", required=True),
        step=p.integer("step", default=0),
        # MLflow 3: the logged model (and evaluation dataset) this value describes
        model_id=p.string("model_id") or None,
        dataset_name=p.string("dataset_name") or None,
        dataset_digest=p.string("dataset_digest") or None,
    )
    ctx.tracking.log_batch(run_id, metrics=[metric])
    return {}


def log_param(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.log_param(_run_id(p), p.string("key", required=True), p.string("value", default=""))
    return {}


def set_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.set_tag(_run_id(p), p.string("key", required=True), p.string("value", default=""))
    return {}


def delete_tag(ctx: ServerContext, p: Params) -> dict[str, Any]:
    ctx.tracking.delete_tag(_run_id(p), p.string("key", required=True))
    return {}


def _entries(p: Params, field: str, required: tuple[str, ...]) -> list[Any]:
    """The objects of a log-batch list, each with its required fields present (MLflow's messages)."""
    entries = p.items(field)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidParameter(invalid_value(f"{field}[{i}]", entry))
        for name in required:
            if entry.get(name) is None or entry.get(name) == "":
                raise InvalidParameter(missing_value(f"{field}[{i}].{name}"))
    return entries


def log_batch(ctx: ServerContext, p: Params) -> dict[str, Any]:
    run_id = _run_id(p)
    # A metric without a timestamp is refused, as MLflow refuses it, rather than stored at time 0.
    metrics = _entries(p, "metrics", ("key", "value", "timestamp"))
    params, tags = _entries(p, "params", ("key",)), _entries(p, "tags", ("key",))
    ctx.tracking.log_batch(
        run_id,
        metrics=[wire.decode_metric(m, f"metrics[{i}]") for i, m in enumerate(metrics)],
        params=wire.decode_params(params),
        tags=wire.decode_tags(tags),
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


BULK_MAX_RUNS = 100  # runs per bulk history call, as MLflow's server allows
INTERVAL_DEFAULT = 2500  # points per run of a sampled history: MLflow's default and cap


def get_history_bulk(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """One metric of up to 100 runs (repeated ``run_id``), sorted by run, timestamp, step and value; at
    most ``max_results`` (25,000) points in all. A run this server does not know contributes nothing."""
    run_ids = [str(r) for r in p.items("run_id")]
    if not run_ids:
        raise InvalidParameter("GetMetricHistoryBulk request must specify at least one run_id.")
    if len(run_ids) > BULK_MAX_RUNS:
        raise InvalidParameter(
            f"GetMetricHistoryBulk request cannot specify more than {BULK_MAX_RUNS} run_ids. "
            f"Received {len(run_ids)} run_ids."
        )
    key = p.string("metric_key")
    if key is None:
        raise InvalidParameter("GetMetricHistoryBulk request must specify a metric_key.")
    limit = min(p.integer("max_results", default=HISTORY_DEFAULT), HISTORY_DEFAULT)
    points: list[Metric] = []
    for run_id in sorted(set(run_ids)):
        try:
            history = ctx.tracking.get_metric_history(run_id, key, max_results=max(limit, 1)).items
        except (RunNotFound, InvalidParameter):  # an unknown run (or a malformed id) has no points
            continue
        points += sorted(history, key=lambda m: (m.timestamp, m.step, m.value))
    return {"metrics": [wire.encode_metric(m, with_run_id=True) for m in points[: max(limit, 0)]]}


def get_history_bulk_interval(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """One metric of up to 100 runs (repeated ``run_ids``), at most ``max_results`` (1 to 2,500) points
    per run, sampled evenly over its steps (the first and the last kept), within ``start_step`` to
    ``end_step`` when both are given."""
    run_ids = [str(r) for r in p.items("run_ids", required=True)]
    if len(run_ids) > BULK_MAX_RUNS:
        raise InvalidParameter(
            f"GetMetricHistoryBulkInterval request must specify at most {BULK_MAX_RUNS} run_ids. "
            f"Received {len(run_ids)} run_ids.{API_DOCS}"
        )
    key = p.string("metric_key", required=True)
    start, end = p.integer("start_step"), p.integer("end_step")
    limit = p.integer("max_results", default=INTERVAL_DEFAULT)
    if not 1 <= limit <= INTERVAL_DEFAULT:
        raise InvalidParameter(f"max_results must be between 1 and {INTERVAL_DEFAULT}.{API_DOCS}")
    if (start is None) != (end is None):
        raise InvalidParameter("If either start step or end step are specified, both must be specified.")
    if start is not None and end is not None and start > end:
        raise InvalidParameter(
            f"end_step must be greater than start_step. Found start_step={start} and end_step={end}."
        )
    window = (start, end) if start is not None and end is not None else None
    out = []
    for run_id in run_ids:
        history = [m for m in _whole_history(ctx, run_id, key) if window is None or window[0] <= m.step <= window[1]]
        history.sort(key=lambda m: (m.step, m.timestamp, m.value))
        out += [wire.encode_metric(m, with_run_id=True) for m in sample_evenly(history, limit)]
    return {"metrics": out}


def _whole_history(ctx: ServerContext, run_id: str, key: str) -> list[Metric]:
    points: list[Metric] = []
    token = None
    while True:
        page = ctx.tracking.get_metric_history(run_id, key, max_results=HISTORY_DEFAULT, page_token=token)
        points += page.items
        token = page.next_page_token
        if not token:
            return points


def sample_evenly(items: list[Metric], count: int) -> list[Metric]:
    """At most ``count`` of ``items``, spread evenly, the first and the last among them (the last only
    when ``count`` is 1).

    >>> [m.step for m in sample_evenly([Metric("k", 0.0, 0, s) for s in range(10)], 4)]
    [0, 3, 6, 9]
    """
    if len(items) <= count:
        return items
    if count == 1:
        return items[-1:]
    last = len(items) - 1
    return [items[round(i * last / (count - 1))] for i in range(count)]


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
    ("GET", "/mlflow/metrics/get-history-bulk", get_history_bulk),
    ("GET", "/mlflow/metrics/get-history-bulk-interval", get_history_bulk_interval),
]
