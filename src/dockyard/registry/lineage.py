"""Where a model version came from: its logged model, the run that made it, that run's params, metrics,
dataset inputs (with digests), git commit, and the chain of parent runs.

:func:`build_lineage` composes a registry (local or remote) and a tracking service (anything with
``get_run`` and ``get_logged_model``); the server answers ``GET /api/2.0/dockyard/registry/lineage``
with :func:`encode_lineage` of it, and the remote client decodes that back with :func:`decode_lineage`.
A run or logged model that no longer exists is reported as missing, not as an error: the version's
lineage is what can still be found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from dockyard.core.errors import LoggedModelNotFound, RunNotFound
from dockyard.core.wire import encode_double
from dockyard.registry.entities import ModelVersion
from dockyard.tracking.entities import PARENT_RUN_TAG as PARENT_TAG
from dockyard.tracking.entities import LoggedModel, Run

GIT_TAGS = {
    "commit": "mlflow.source.git.commit",
    "branch": "mlflow.source.git.branch",
    "repo_url": "mlflow.source.git.repoURL",
    "dirty": "dockyard.source.git.dirty",
}
MAX_PARENTS = 32  # a parent chain longer than this is cut (and a loop cannot run forever)


class Tracking(Protocol):
    def get_run(self, run_id: str) -> Run: ...
    def get_logged_model(self, model_id: str) -> LoggedModel: ...


class Registry(Protocol):
    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...
    def get_model_version_download_uri(self, name: str, version: int | str) -> str: ...


@dataclass(frozen=True)
class DatasetRef:
    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    context: str | None = None  # the ``mlflow.data.context`` input tag: training, validation...


@dataclass(frozen=True)
class RunLineage:
    run_id: str
    found: bool = True
    run_name: str | None = None
    experiment_id: str | None = None
    status: str | None = None
    user_id: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    git: dict[str, str] = field(default_factory=dict)  # commit, branch, repo_url, dirty (those present)
    datasets: tuple[DatasetRef, ...] = ()
    parent_run_id: str | None = None


@dataclass(frozen=True)
class LoggedModelLineage:
    model_id: str
    found: bool = True
    name: str | None = None
    status: str | None = None
    artifact_location: str | None = None
    source_run_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Lineage:
    name: str
    version: int
    source: str
    storage_location: str
    status: str
    stage: str
    aliases: tuple[str, ...] = ()
    run: RunLineage | None = None
    logged_model: LoggedModelLineage | None = None
    parents: tuple[RunLineage, ...] = ()  # nearest first


def _run(tracking: Tracking, run_id: str) -> RunLineage:
    try:
        run = tracking.get_run(run_id)
    except RunNotFound:
        return RunLineage(run_id, found=False)
    tags = run.data.tags
    datasets = tuple(
        DatasetRef(
            d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source, d.tags.get("mlflow.data.context")
        )
        for d in run.inputs.dataset_inputs
    )
    return RunLineage(
        run_id=run.info.run_id,
        run_name=run.info.run_name,
        experiment_id=run.info.experiment_id,
        status=run.info.status.value,
        user_id=run.info.user_id,
        start_time=run.info.start_time,
        end_time=run.info.end_time,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags=dict(tags),
        git={k: tags[tag] for k, tag in GIT_TAGS.items() if tag in tags},
        datasets=datasets,
        parent_run_id=tags.get(PARENT_TAG) or None,
    )


def _logged_model(tracking: Tracking, model_id: str) -> LoggedModelLineage:
    try:
        model = tracking.get_logged_model(model_id)
    except LoggedModelNotFound:
        return LoggedModelLineage(model_id, found=False)
    return LoggedModelLineage(
        model_id=model.model_id,
        name=model.name,
        status=model.status.value,
        artifact_location=model.artifact_location,
        source_run_id=model.source_run_id,
        params=dict(model.params),
        metrics={m.key: m.value for m in sorted(model.metrics, key=lambda m: (m.step, m.timestamp))},
    )


def build_lineage(registry: Registry, tracking: Tracking, name: str, version: int | str) -> Lineage:
    """The lineage of version ``version`` of model ``name``.

    The run is the version's ``run_id``, else its logged model's source run; parents follow the
    ``mlflow.parentRunId`` tag upwards, nearest first.
    """
    mv = registry.get_model_version(name, version)
    logged = _logged_model(tracking, mv.model_id) if mv.model_id else None
    run_id = mv.run_id or (logged.source_run_id if logged is not None else None)
    run = _run(tracking, run_id) if run_id else None
    parents: list[RunLineage] = []
    seen = {run_id}
    parent_id = run.parent_run_id if run is not None else None
    while parent_id and parent_id not in seen and len(parents) < MAX_PARENTS:
        seen.add(parent_id)
        parent = _run(tracking, parent_id)
        parents.append(parent)
        parent_id = parent.parent_run_id
    return Lineage(
        name=mv.name,
        version=mv.version,
        source=mv.source,
        storage_location=registry.get_model_version_download_uri(mv.name, mv.version),
        status=mv.status.value,
        stage=mv.current_stage.value,
        aliases=mv.aliases,
        run=run,
        logged_model=logged,
        parents=tuple(parents),
    )


# ---------------------------------------------------------------------------------------- JSON


def _finite(metrics: dict[str, float]) -> dict[str, float | str]:
    # Strict JSON has no NaN or infinities: MLflow's wire spells them "NaN", "Infinity", "-Infinity".
    return {k: encode_double(x) for k, x in metrics.items()}


def encode_lineage(lineage: Lineage) -> dict[str, Any]:
    """Plain, strict JSON (the version number as a string, as in MLflow's registry API)."""
    out = asdict(lineage)
    out["version"] = str(lineage.version)
    for part in (out["run"], out["logged_model"], *out["parents"]):
        if part is not None:
            part["metrics"] = _finite(part["metrics"])
    return out


def _metrics(d: dict[str, Any]) -> dict[str, float]:
    return {k: float(x) for k, x in (d.get("metrics") or {}).items()}


def _decode_run(d: dict[str, Any] | None) -> RunLineage | None:
    if d is None:
        return None
    datasets = tuple(DatasetRef(**x) for x in d.get("datasets") or ())
    return RunLineage(**{**d, "datasets": datasets, "metrics": _metrics(d)})


def decode_lineage(d: dict[str, Any]) -> Lineage:
    logged = d.get("logged_model")
    return Lineage(
        name=d["name"],
        version=int(d["version"]),
        source=d.get("source", ""),
        storage_location=d.get("storage_location", ""),
        status=d.get("status", ""),
        stage=d.get("stage", ""),
        aliases=tuple(d.get("aliases") or ()),
        run=_decode_run(d.get("run")),
        logged_model=None if logged is None else LoggedModelLineage(**{**logged, "metrics": _metrics(logged)}),
        parents=tuple(r for r in (_decode_run(x) for x in d.get("parents") or ()) if r is not None),
    )
