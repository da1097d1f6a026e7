"""The tracking JSON codec: entities <-> MLflow's protobuf-JSON, both directions.

The server encodes responses and decodes requests with it; the remote client does the reverse. It
follows MLflow's conventions so the official client understands every byte: snake_case names, enums
by name, int64 as JSON numbers, non-finite doubles as ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"``,
empty fields omitted, ``RunInfo`` with both ``run_id`` and ``run_uuid``.

>>> encode_metric(Metric("loss", float("nan"), 10, 2))
{'key': 'loss', 'value': 'NaN', 'timestamp': 10, 'step': 2}
>>> decode_metric({"key": "loss", "value": "Infinity", "timestamp": "10"}).value
inf
"""

from __future__ import annotations

import math
from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.core.wire import (
    decode_double,
    decode_int,
    decode_key_values,
    drop_empty,
    encode_double,
    encode_key_values,
    key_value_pairs,
)
from dockyard.tracking.entities import (
    Dataset,
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    Experiment,
    ExperimentKeys,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelInput,
    ModelOutput,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStats,
    RunStatus,
    RunTag,
)

# ---------------------------------------------------------------------- experiments


def encode_experiment(e: Experiment) -> dict[str, Any]:
    return drop_empty(
        {
            "experiment_id": e.experiment_id,
            "name": e.name,
            "artifact_location": e.artifact_location,
            "lifecycle_stage": e.lifecycle_stage.value,
            "last_update_time": e.last_update_time,
            "creation_time": e.creation_time,
            "tags": encode_key_values(e.tags),
        }
    )


def decode_experiment(d: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=str(d["experiment_id"]),
        name=d.get("name", ""),
        artifact_location=d.get("artifact_location", ""),
        lifecycle_stage=LifecycleStage(d.get("lifecycle_stage", "active")),
        creation_time=decode_int(d.get("creation_time"), "creation_time"),
        last_update_time=decode_int(d.get("last_update_time"), "last_update_time"),
        tags=decode_key_values(d.get("tags"), "tags"),
    )


def encode_run_stats(s: RunStats) -> dict[str, Any]:
    return drop_empty(
        {"experiment_id": s.experiment_id, "run_count": s.run_count, "last_run_start_time": s.last_run_start_time}
    )


def encode_experiment_keys(k: ExperimentKeys) -> dict[str, Any]:
    return {"params": list(k.params), "metrics": list(k.metrics), "tags": list(k.tags), "truncated": k.truncated}


def decode_experiment_keys(d: dict[str, Any]) -> ExperimentKeys:
    def keys(name: str) -> tuple[str, ...]:
        value = d.get(name) or []
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            raise InvalidParameter(f"{name}: expected a list of key strings")
        return tuple(value)

    return ExperimentKeys(keys("params"), keys("metrics"), keys("tags"), bool(d.get("truncated", False)))


def decode_run_stats(d: dict[str, Any]) -> RunStats:
    return RunStats(
        experiment_id=str(d["experiment_id"]),
        run_count=decode_int(d.get("run_count"), "run_count") or 0,
        last_run_start_time=decode_int(d.get("last_run_start_time"), "last_run_start_time"),
    )


# ---------------------------------------------------------------------- runs


def encode_metric(m: Metric, *, with_run_id: bool = False) -> dict[str, Any]:
    value = m.value
    out: dict[str, Any] = {
        "key": m.key,
        # Inline test for the usual finite case: this runs a thousand times per log_batch.
        "value": value if -math.inf < value < math.inf else encode_double(value),
        "timestamp": m.timestamp,
        "step": m.step,
    }
    if with_run_id and m.run_id:
        out["run_id"] = m.run_id
    if m.model_id:
        out["model_id"] = m.model_id
    if m.dataset_name:
        out["dataset_name"] = m.dataset_name
    if m.dataset_digest:
        out["dataset_digest"] = m.dataset_digest
    return out


def decode_metric(d: Any, field: str = "metric") -> Metric:
    if not isinstance(d, dict):
        raise InvalidParameter(f"{field}: expected an object")
    value, timestamp, step = d.get("value"), d.get("timestamp"), d.get("step", 0)
    key = d.get("key", "")
    if type(value) is not float:
        value = decode_double(value, f"{field}.value")
    if type(timestamp) is not int:
        timestamp = decode_int(timestamp, f"{field}.timestamp", 0) or 0
    if type(step) is not int:
        step = decode_int(step, f"{field}.step", 0) or 0
    return Metric(
        key,
        value,
        timestamp,
        step,
        d.get("run_id"),
        d.get("model_id") or None,
        d.get("dataset_name") or None,
        d.get("dataset_digest") or None,
    )


def encode_run_info(i: RunInfo) -> dict[str, Any]:
    return drop_empty(
        {
            "run_id": i.run_id,
            "run_uuid": i.run_id,
            "run_name": i.run_name,
            "experiment_id": i.experiment_id,
            "user_id": i.user_id,
            "status": i.status.value,
            "start_time": i.start_time,
            "end_time": i.end_time,
            "artifact_uri": i.artifact_uri,
            "lifecycle_stage": i.lifecycle_stage.value,
        }
    )


def decode_run_info(d: dict[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=d.get("run_id") or d["run_uuid"],
        experiment_id=str(d.get("experiment_id", "")),
        run_name=d.get("run_name", ""),
        user_id=d.get("user_id", ""),
        status=RunStatus.parse(d.get("status", "RUNNING")),
        start_time=decode_int(d.get("start_time"), "start_time"),
        end_time=decode_int(d.get("end_time"), "end_time"),
        artifact_uri=d.get("artifact_uri", ""),
        lifecycle_stage=LifecycleStage(d.get("lifecycle_stage", "active")),
    )


def encode_dataset(d: Dataset) -> dict[str, Any]:
    return drop_empty(
        {
            "name": d.name,
            "digest": d.digest,
            "source_type": d.source_type,
            "source": d.source,
            "schema": d.schema,
            "profile": d.profile,
        }
    )


def decode_dataset(d: Any, field: str = "dataset") -> Dataset:
    if not isinstance(d, dict):
        raise InvalidParameter(f"{field}: expected an object")
    return Dataset(
        name=d.get("name", ""),
        digest=d.get("digest", ""),
        source_type=d.get("source_type", ""),
        source=d.get("source", ""),
        schema=d.get("schema"),
        profile=d.get("profile"),
    )


def encode_dataset_input(i: DatasetInput) -> dict[str, Any]:
    return drop_empty({"tags": encode_key_values(i.tags), "dataset": encode_dataset(i.dataset)})


def decode_dataset_input(d: Any, field: str = "datasets") -> DatasetInput:
    if not isinstance(d, dict):
        raise InvalidParameter(f"{field}: expected an object")
    return DatasetInput(
        decode_dataset(d.get("dataset"), f"{field}.dataset"), decode_key_values(d.get("tags"), f"{field}.tags")
    )


def encode_dataset_ref(d: DatasetRef) -> dict[str, Any]:
    return drop_empty({"dataset_name": d.name, "dataset_digest": d.digest})


def decode_dataset_ref(d: Any, field: str = "datasets") -> DatasetRef:
    """``{dataset_name, dataset_digest?}`` of a logged-model search."""
    if not isinstance(d, dict) or not isinstance(d.get("dataset_name"), str) or not d["dataset_name"]:
        raise InvalidParameter(f"{field}: expected an object with a 'dataset_name'")
    digest = d.get("dataset_digest")
    if digest is not None and not isinstance(digest, str):
        raise InvalidParameter(f"{field}.dataset_digest: expected a string")
    return DatasetRef(d["dataset_name"], digest or None)


def encode_dataset_summary(s: DatasetSummary) -> dict[str, Any]:
    return drop_empty({"experiment_id": s.experiment_id, "name": s.name, "digest": s.digest, "context": s.context})


def decode_dataset_summary(d: dict[str, Any]) -> DatasetSummary:
    return DatasetSummary(str(d.get("experiment_id", "")), d.get("name", ""), d.get("digest", ""), d.get("context"))


def encode_run(r: Run) -> dict[str, Any]:
    data = drop_empty(
        {
            "metrics": [encode_metric(m) for m in r.data.metric_objs]
            if r.data.metric_objs
            else [{"key": k, "value": encode_double(v), "timestamp": 0, "step": 0} for k, v in r.data.metrics.items()],
            "params": encode_key_values(r.data.params),
            "tags": encode_key_values(r.data.tags),
        }
    )
    inputs = drop_empty(
        {
            "dataset_inputs": [encode_dataset_input(i) for i in r.inputs.dataset_inputs],
            "model_inputs": [{"model_id": m.model_id} for m in r.inputs.model_inputs],
        }
    )
    out = {"info": encode_run_info(r.info), "data": data, "inputs": inputs}
    if r.outputs:
        out["outputs"] = {"model_outputs": [{"model_id": o.model_id, "step": o.step} for o in r.outputs]}
    return out


def decode_run(d: dict[str, Any]) -> Run:
    data = d.get("data") or {}
    metrics = [decode_metric(m, "run.data.metrics") for m in data.get("metrics") or []]
    inputs = d.get("inputs") or {}
    return Run(
        info=decode_run_info(d.get("info") or {}),
        data=RunData(
            metrics={m.key: m.value for m in metrics},
            params=decode_key_values(data.get("params"), "run.data.params"),
            tags=decode_key_values(data.get("tags"), "run.data.tags"),
            metric_objs=tuple(metrics),
        ),
        inputs=RunInputs(
            tuple(decode_dataset_input(i) for i in inputs.get("dataset_inputs") or []),
            tuple(ModelInput(m["model_id"]) for m in inputs.get("model_inputs") or []),
        ),
        outputs=tuple(
            ModelOutput(o["model_id"], decode_int(o.get("step"), "step", 0) or 0)
            for o in (d.get("outputs") or {}).get("model_outputs") or []
        ),
    )


def decode_params(items: Any, field: str = "params") -> list[Param]:
    return [Param(k, v) for k, v in key_value_pairs(items, field)]


def decode_tags(items: Any, field: str = "tags") -> list[RunTag]:
    return [RunTag(k, v) for k, v in key_value_pairs(items, field)]


# ---------------------------------------------------------------------- logged models


def encode_logged_model(m: LoggedModel) -> dict[str, Any]:
    info = drop_empty(
        {
            "model_id": m.model_id,
            "experiment_id": m.experiment_id,
            "name": m.name,
            "creation_timestamp_ms": m.creation_timestamp,
            "last_updated_timestamp_ms": m.last_updated_timestamp,
            "artifact_uri": m.artifact_location,
            "status": m.status.value,
            "model_type": m.model_type,
            "source_run_id": m.source_run_id,
            "status_message": m.status_message,
            "tags": encode_key_values(m.tags),
        }
    )
    data = drop_empty(
        {
            "params": encode_key_values(m.params),
            "metrics": [encode_metric(x, with_run_id=True) for x in m.metrics],
        }
    )
    return {"info": info, "data": data}


def decode_logged_model(d: dict[str, Any]) -> LoggedModel:
    info = d.get("info") or {}
    data = d.get("data") or {}
    return LoggedModel(
        model_id=info["model_id"],
        experiment_id=str(info.get("experiment_id", "")),
        name=info.get("name", ""),
        artifact_location=info.get("artifact_uri", ""),
        creation_timestamp=decode_int(info.get("creation_timestamp_ms"), "creation_timestamp_ms", 0) or 0,
        last_updated_timestamp=decode_int(info.get("last_updated_timestamp_ms"), "last_updated_timestamp_ms", 0) or 0,
        status=LoggedModelStatus.parse(info.get("status", "LOGGED_MODEL_PENDING")),
        status_message=info.get("status_message"),
        model_type=info.get("model_type"),
        source_run_id=info.get("source_run_id"),
        tags=decode_key_values(info.get("tags"), "tags"),
        params=decode_key_values(data.get("params"), "params"),
        metrics=tuple(decode_metric(x, "metrics") for x in data.get("metrics") or []),
    )
