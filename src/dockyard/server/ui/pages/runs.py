"""``/runs/<run_id>``: one run, its charts (``/runs/<id>/metric-history``) and artifacts (``/runs/<id>/artifact``).

Charts ask for at most :data:`CHART_POINTS` points of a history from ``get_metric_history_downsampled``
(what ``/dockyard/metrics/get-history-downsampled`` calls), which keeps each step bucket's minimum and
maximum, so a spike stays visible however long the history.
"""

from __future__ import annotations

import json
import math
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import DockyardError, InvalidParameter
from dockyard.server.api.artifacts import content_disposition
from dockyard.server.ui import artifacts as art
from dockyard.server.ui.page import UIRequest
from dockyard.tracking.context import DIFF_ARTIFACT
from dockyard.tracking.entities import LOG_MODEL_HISTORY_TAG, LoggedModel, Run
from dockyard.tracking.entities import SYSTEM_METRIC_PREFIX as SYSTEM_PREFIX

if TYPE_CHECKING:
    from starlette.responses import Response

CHART_POINTS = 1000  # per history: each bucket's min and max, so about twice the buckets
MAX_CHARTS = 30  # metric charts drawn on one run's page; the rest are listed
SOURCE_TAGS = {
    "mlflow.source.name": "Source",
    "mlflow.source.type": "Source type",
    "mlflow.source.git.commit": "Git commit",
    "mlflow.source.git.branch": "Git branch",
    "mlflow.source.git.repoURL": "Git repository",
    "dockyard.source.git.dirty": "Uncommitted changes",
    "dockyard.source.command": "Command",
    "dockyard.source.cwd": "Working directory",
    "mlflow.parentRunId": "Parent run",
    "dockyard.reproduced_from": "Reproduced from",
}


def _run(ui: UIRequest) -> Run:
    run = ui.tracking.get_run(str(ui.path_params["run_id"]))
    ui.require("experiment", run.info.experiment_id, "read")
    return run


def _logged_models(ui: UIRequest, run: Run) -> list[LoggedModel | dict[str, Any]]:
    """MLflow 3's logged models the run produced, then MLflow 2's (the run's ``log-model`` history tag)."""
    found: list[LoggedModel | dict[str, Any]] = []
    for output in run.outputs:
        try:
            found.append(ui.tracking.get_logged_model(output.model_id))
        except DockyardError:
            found.append({"model_id": output.model_id, "missing": True})
    try:
        history = json.loads(run.data.tags.get(LOG_MODEL_HISTORY_TAG, "[]"))
    except ValueError:
        history = []
    found += [item for item in history if isinstance(item, dict)]
    return found


def run_page(ui: UIRequest) -> Response:
    """The run: its facts, params, metrics and charts, tags, inputs, models and artifact browser."""
    run = _run(ui)
    experiment = ui.tracking.get_experiment(run.info.experiment_id)
    latest = sorted(run.data.metric_objs, key=lambda m: m.key)
    model_metrics = [m for m in latest if not m.key.startswith(SYSTEM_PREFIX)]
    system_metrics = [m for m in latest if m.key.startswith(SYSTEM_PREFIX)]
    tags = run.data.tags
    source = [(label, key, tags[key]) for key, label in SOURCE_TAGS.items() if tags.get(key)]
    user_tags = sorted((k, v) for k, v in tags.items() if not k.startswith("mlflow.") and k not in SOURCE_TAGS)
    system_tags = sorted((k, v) for k, v in tags.items() if k.startswith("mlflow.") and k not in SOURCE_TAGS)
    listing = _artifact_listing(ui, run)
    if listing["artifact_request"] and ui.is_htmx:
        return ui.render("runs/_artifacts.html", run=run, **listing)
    duration = None
    if run.info.start_time is not None and run.info.end_time is not None:
        duration = run.info.end_time - run.info.start_time
    return ui.render(
        "runs/run.html",
        run=run,
        experiment=experiment,
        duration=duration,
        source=source,
        user_tags=user_tags,
        system_tags=system_tags,
        params=sorted(run.data.params.items()),
        metrics=model_metrics,
        system_metrics=system_metrics,
        charted=[m.key for m in model_metrics[:MAX_CHARTS]],
        system_charted=[m.key for m in system_metrics[:MAX_CHARTS]],
        max_charts=MAX_CHARTS,
        datasets=run.inputs.dataset_inputs,
        logged_models=_logged_models(ui, run),
        has_diff=tags.get("dockyard.source.git.dirty") == "true" or "dockyard.source.diff_digest" in tags,
        diff_path=DIFF_ARTIFACT,
        **listing,
    )


def _artifact_listing(ui: UIRequest, run: Run) -> dict[str, Any]:
    """The artifact browser's state: the folder shown (``?artifacts=``) and the file previewed (``?artifact=``)."""
    selected = ui.query("artifact")
    folder = ui.query("artifacts") or (str(PurePosixPath(selected).parent) if "/" in selected else "")
    folder = folder.strip("/")
    error = None
    entries: list[art.Entry] = []
    try:
        entries = art.list_dir(ui.ctx, run.info.artifact_uri, folder)
    except DockyardError as exc:
        error = exc.message
    shown = None
    if selected:
        entry = next((e for e in entries if e.path == selected and not e.is_dir), None)
        if entry is None:
            error = error or f"No artifact file {selected!r} in this run"
        else:
            shown = art.preview(ui.ctx, run.info.artifact_uri, entry)
    parts = folder.split("/") if folder else []
    crumbs = [("/".join(parts[: i + 1]), part) for i, part in enumerate(parts)]
    return {
        "entries": entries,
        "folder": folder,
        "folder_crumbs": crumbs,
        "shown": shown,
        "artifact_error": error,
        "artifact_request": bool(ui.query("artifact") or ui.query("artifacts")),
    }


def metric_history(ui: UIRequest) -> Response:
    """``{"key", "points": [[step, timestamp, value], ...]}`` for a chart, downsampled keeping min and max."""
    run = _run(ui)
    key = ui.query("key")
    if not key:
        raise InvalidParameter("key: name the metric")
    points = ui.tracking.get_metric_history_downsampled(run.info.run_id, key, max_points=CHART_POINTS)
    return ui.json(
        {
            "key": key,
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "points": [[p.step, p.timestamp, p.value if math.isfinite(p.value) else None] for p in points],
        }
    )


def artifact_file(ui: UIRequest) -> Response:
    """One artifact file: a download, or an image shown inline (never anything a browser would run)."""
    from starlette.concurrency import iterate_in_threadpool
    from starlette.responses import StreamingResponse

    run = _run(ui)
    path = ui.query("path")
    suffix = PurePosixPath(path).suffix.lower()
    inline = ui.query("inline") == "1" and suffix in art.IMAGE_TYPES
    name = PurePosixPath(path).name or "artifact"
    context = art.open_artifact(ui.ctx, run.info.artifact_uri, path)
    fh = context.__enter__()

    def chunks() -> Any:
        try:
            while chunk := fh.read(1024 * 1024):
                yield chunk
        finally:
            context.__exit__(None, None, None)

    headers = {
        # The file is the run's data, not the server's page: no script in it may run here.
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=300",
    }
    if not inline:
        headers["Content-Disposition"] = content_disposition(name)
    media = art.IMAGE_TYPES[suffix] if inline else "application/octet-stream"
    return StreamingResponse(iterate_in_threadpool(chunks()), media_type=media, headers=headers)


ROUTES = [
    ("GET", "/runs/{run_id}", run_page),
    ("GET", "/runs/{run_id}/metric-history", metric_history),
    ("GET", "/runs/{run_id}/artifact", artifact_file),
]
