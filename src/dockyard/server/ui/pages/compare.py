"""``/compare?runs=a,b,...``: runs side by side: overlaid metric charts, a parallel-coordinates plot of the
params against a chosen metric, and a table with the values that differ highlighted."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import InvalidParameter
from dockyard.server.ui.page import UIRequest, as_json
from dockyard.server.ui.pages.runs import CHART_POINTS, MAX_CHARTS, SYSTEM_PREFIX
from dockyard.tracking.entities import Run

if TYPE_CHECKING:
    from starlette.responses import Response

MAX_RUNS = 50  # runs on one compare page


def _runs(ui: UIRequest) -> list[Run]:
    ids = list(dict.fromkeys(ui.query_list("runs")))
    if not ids:
        raise InvalidParameter("runs: name the runs to compare (?runs=<id>,<id>,...)")
    if len(ids) > MAX_RUNS:
        raise InvalidParameter(f"runs: at most {MAX_RUNS} runs can be compared at once, got {len(ids)}")
    runs = []
    for run_id in ids:
        run = ui.tracking.get_run(run_id)
        ui.require("experiment", run.info.experiment_id, "read")
        runs.append(run)
    return runs


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _parallel(runs: list[Run], params: list[str], metric: str | None) -> dict[str, Any]:
    """The parallel-coordinates plot's axes (numeric when every value parses, else categories) and lines."""
    axes: list[dict[str, Any]] = []
    for key in params:
        values = [r.data.params.get(key) for r in runs]
        numeric = all(v is None or _number(v) is not None for v in values)
        categories = None if numeric else sorted({v for v in values if v is not None})
        axes.append({"name": key, "kind": "param", "numeric": numeric, "categories": categories})
    if metric:
        axes.append({"name": metric, "kind": "metric", "numeric": True, "categories": None})
    lines = []
    for run in runs:
        row: list[Any] = []
        for axis in axes:
            if axis["kind"] == "metric":
                value = run.data.metrics.get(axis["name"])
                row.append(value if value is not None and math.isfinite(value) else None)
            else:
                raw = run.data.params.get(axis["name"])
                row.append(_number(raw) if axis["numeric"] else raw)
        lines.append({"name": run.info.run_name or run.info.run_id, "values": row})
    return {"axes": axes, "lines": lines}


def compare(ui: UIRequest) -> Response:
    runs = _runs(ui)
    params = sorted({k for r in runs for k in r.data.params})
    metrics = sorted({k for r in runs for k in r.data.metrics if not k.startswith(SYSTEM_PREFIX)})
    metric = ui.query("metric") or (metrics[0] if metrics else "")
    if metric and metric not in metrics:
        raise InvalidParameter(f"metric: no run here has a metric {metric!r}")
    only_diff = ui.query("diff") == "1"

    def row(label: str, values: list[Any]) -> dict[str, Any]:
        present = [v for v in values if v is not None]
        differs = len(runs) > 1 and (len(set(map(str, present))) > 1 or len(present) != len(values))
        return {"label": label, "cells": values, "differs": differs}

    sections = [
        ("Run", [
            row("Experiment", [r.info.experiment_id for r in runs]),
            row("Status", [r.info.status.value for r in runs]),
            row("User", [r.info.user_id for r in runs]),
            row("Started", [r.info.start_time for r in runs]),
        ]),
        ("Parameters", [row(k, [r.data.params.get(k) for r in runs]) for k in params]),
        ("Metrics", [row(k, [r.data.metrics.get(k) for r in runs]) for k in metrics]),
    ]  # fmt: skip
    if only_diff:
        sections = [(title, [r for r in rows if r["differs"]]) for title, rows in sections]
    return ui.render(
        "runs/compare.html",
        runs=runs,
        run_ids=",".join(r.info.run_id for r in runs),
        sections=sections,
        metrics=metrics,
        metric=metric,
        charted=metrics[:MAX_CHARTS],
        only_diff=only_diff,
        parallel_json=as_json(_parallel(runs, params, metric or None)),
    )


def metric_histories(ui: UIRequest) -> Response:
    """One metric of several runs, each downsampled keeping bucket min and max: ``{"key", "series": [...]}``."""
    runs = _runs(ui)
    key = ui.query("key")
    if not key:
        raise InvalidParameter("key: name the metric")
    series = []
    for run in runs:
        points = ui.tracking.get_metric_history_downsampled(run.info.run_id, key, max_points=CHART_POINTS)
        series.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "points": [[p.step, p.timestamp, p.value if math.isfinite(p.value) else None] for p in points],
            }
        )
    return ui.json({"key": key, "series": series})


ROUTES = [
    ("GET", "/compare", compare),
    ("GET", "/compare/metric-histories", metric_histories),
]
