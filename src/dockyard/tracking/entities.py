"""Tracking entities: frozen dataclasses, no I/O, no third-party imports.

One shape per concept. The store builds them from rows, the wire codec (:mod:`dockyard.tracking.wire`) encodes them, the
client hands them to users.

>>> m = Metric("loss", 0.5, timestamp=1700000000000, step=3)
>>> m.key, m.value, m.step
('loss', 0.5, 3)
>>> RunStatus.parse("finished") is RunStatus.FINISHED
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

# MLflow's system tags that more than one layer reads.
PARENT_RUN_TAG = "mlflow.parentRunId"  # a nested run's parent
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"  # MLflow 2's JSON list of the models a run logged
SYSTEM_METRIC_PREFIX = "system/"  # the keys of system metrics (CPU, memory, ...)


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @classmethod
    def parse(cls, value: str | RunStatus) -> RunStatus:
        """Accept a member or its name in any case; raise ValueError naming the allowed values."""
        if isinstance(value, RunStatus):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"status {value!r} is not one of {allowed}") from None

    @property
    def is_terminated(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(enum.StrEnum):
    """Which lifecycle stages a search returns (MLflow's ``run_view_type`` / ``view_type``)."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"

    @classmethod
    def parse(cls, value: str | ViewType) -> ViewType:
        if isinstance(value, ViewType):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            raise ValueError(f"view type {value!r} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL") from None

    def stages(self) -> tuple[LifecycleStage, ...]:
        if self is ViewType.ACTIVE_ONLY:
            return (LifecycleStage.ACTIVE,)
        if self is ViewType.DELETED_ONLY:
            return (LifecycleStage.DELETED,)
        return (LifecycleStage.ACTIVE, LifecycleStage.DELETED)


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int  # milliseconds since the epoch
    step: int = 0
    run_id: str | None = None  # filled in by metric-history reads
    model_id: str | None = None  # MLflow 3: the logged model this value describes
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ExperimentTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage
    creation_time: int | None = None
    last_update_time: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: RunStatus
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: LifecycleStage

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``."""
        return self.run_id


@dataclass(frozen=True, slots=True)
class RunData:
    """Latest value of each metric, and all params and tags, as dicts like MLflow's ``RunData``."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # The latest point of each metric with its step and timestamp (what MLflow's REST API returns).
    metric_objs: tuple[Metric, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RunStats:
    """How many active runs an experiment holds and when the latest of them started (the UI's list)."""

    experiment_id: str
    run_count: int
    last_run_start_time: int | None = None


MAX_EXPERIMENT_KEYS = 1000  # experiment_keys returns at most this many keys of each kind
KEYS_SCAN_RUNS = 10_000  # ... found on the experiments' latest this many runs (by start time)


@dataclass(frozen=True, slots=True)
class ExperimentKeys:
    """The param, metric and tag keys of some experiments' active runs, sorted (the UI's column picker).

    Bounded so that it stays fast at 100,000 runs: the keys of the latest ``KEYS_SCAN_RUNS`` runs by
    start time, at most ``MAX_EXPERIMENT_KEYS`` of each kind (the first in sorted order); ``truncated``
    says that a bound cut something (the experiments hold more runs, or a kind more keys).
    """

    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset as logged on a run: identified by (name, digest) within an experiment."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None  # JSON text
    profile: str | None = None  # JSON text, e.g. {"num_rows": 100}


@dataclass(frozen=True, slots=True)
class DatasetInput:
    dataset: Dataset
    tags: dict[str, str] = field(default_factory=dict)  # e.g. {"mlflow.data.context": "training"}


@dataclass(frozen=True, slots=True)
class ModelInput:
    """A logged model a run used (MLflow 3's ``LoggedModelInput``)."""

    model_id: str


@dataclass(frozen=True, slots=True)
class RunInputs:
    dataset_inputs: tuple[DatasetInput, ...] = ()
    model_inputs: tuple[ModelInput, ...] = ()


@dataclass(frozen=True, slots=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: tuple[ModelOutput, ...] = ()


class LoggedModelStatus(enum.StrEnum):
    PENDING = "LOGGED_MODEL_PENDING"
    READY = "LOGGED_MODEL_READY"
    UPLOAD_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"

    @classmethod
    def parse(cls, value: str | LoggedModelStatus) -> LoggedModelStatus:
        if isinstance(value, LoggedModelStatus):
            return value
        text = str(value).upper()
        for member in cls:
            if text in (member.value, member.name):
                return member
        allowed = ", ".join(m.value for m in cls)
        raise ValueError(f"status {value!r} is not one of {allowed}")


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A model logged from a run (MLflow 3's ``LoggedModel``): id ``m-<hex>``, its own artifacts,
    params, tags and the metrics logged against it."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: LoggedModelStatus
    status_message: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    creator_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset a logged-model search asks for: its name, and its digest when given."""

    name: str
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """A dataset used in an experiment, with the context a run gave it (``mlflow.data.context``)."""

    experiment_id: str
    name: str
    digest: str
    context: str | None = None


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """A logged model a run produced, and at which step."""

    model_id: str
    step: int = 0
