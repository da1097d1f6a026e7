"""Dockyard's own endpoints, for what MLflow has no call for (``/api/2.0/dockyard/...``)."""

from __future__ import annotations

from typing import Any

from dockyard.server.context import ServerContext
from dockyard.server.http import Params
from dockyard.tracking import wire


def histories(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """One metric's history for many runs in one call: ``run_ids[]``, ``metric_key``, ``max_results``."""
    points = ctx.tracking.get_metric_histories(
        [str(r) for r in p.items("run_ids")],
        p.string("metric_key", required=True),
        max_results=p.integer("max_results", default=25_000),
    )
    return {"metrics": [wire.encode_metric(m, with_run_id=True) for m in points]}


def downsampled(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """At most ``max_points`` points of a history, keeping each step bucket's minimum and maximum."""
    points = ctx.tracking.get_metric_history_downsampled(
        p.string("run_id", required=True),
        p.string("metric_key", required=True),
        max_points=p.integer("max_points", default=1000),
        start_step=p.integer("start_step"),
        end_step=p.integer("end_step"),
    )
    return {"metrics": [wire.encode_metric(m, with_run_id=True) for m in points]}


def run_stats(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """Each experiment's number of active runs and the start of its latest: ``experiment_ids[]``."""
    stats = ctx.tracking.experiment_run_stats([str(e) for e in p.items("experiment_ids")])
    return {"experiments": [wire.encode_run_stats(s) for s in stats]}


def experiment_keys(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """Every param, metric and tag key of the experiments' active runs, sorted: ``experiment_ids[]``."""
    keys = ctx.tracking.experiment_keys([str(e) for e in p.items("experiment_ids")])
    return wire.encode_experiment_keys(keys)


ROUTES = [
    ("GET", "/dockyard/metrics/get-histories", histories),
    ("POST", "/dockyard/metrics/get-histories", histories),
    ("GET", "/dockyard/metrics/get-history-downsampled", downsampled),
    ("POST", "/dockyard/experiments/run-stats", run_stats),
    ("POST", "/dockyard/experiments/keys", experiment_keys),
]
