"""The success bodies (HTTP 200) of the main MLflow REST operations, for ``/api/openapi.json``.

Written from MLflow's wire format (protobuf's JSON mapping, as MLflow's server emits it): snake_case
names, ids as strings (a model version number too: ``"version": "3"``), int64 timestamps as JSON
numbers, enums by name, non-finite doubles as ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"``, and
fields with an empty value (no list, no map, unset) left out. So a field is ``required`` only where
this server always sends it; every listed property is typed, and any other property is allowed (MLflow
adds fields over its versions; its client ignores unknown ones).

The entities are defined once, under ``components/schemas`` (:data:`COMPONENTS`); :data:`RESPONSES`
maps ``(METHOD, path)`` (the path without its ``/api/2.0`` or ``/api/3.0`` prefix) to the body of
that operation. Operations not listed keep the generic ``{"type": "object"}``.

>>> response_schema("GET", "/mlflow/runs/get")["properties"]["run"]
{'$ref': '#/components/schemas/Run'}
>>> response_schema("POST", "/mlflow/runs/log-batch")
{'$ref': '#/components/schemas/Empty'}
>>> response_schema("GET", "/dockyard/version") is None
True
"""

from __future__ import annotations

from typing import Any

_STRING: dict[str, Any] = {"type": "string"}
_INT64: dict[str, Any] = {"type": "integer", "format": "int64"}


def ref(name: str) -> dict[str, Any]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _key_value(description: str) -> dict[str, Any]:
    return _object({"key": _STRING, "value": _STRING}, ("key",), description)


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


_LIFECYCLE_STAGE = _enum("active", "deleted")
_VERSION_NUMBER: dict[str, Any] = {
    "type": "string",
    "pattern": "^[0-9]+$",
    "description": "A version number, as a string",
}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Empty": {
        "type": "object",
        "description": "An empty object ({}): the operation answers nothing but its success",
    },
    "ExperimentTag": _key_value("A tag of an experiment"),
    "Experiment": _object(
        {
            "experiment_id": _STRING,
            "name": _STRING,
            "artifact_location": _STRING,
            "lifecycle_stage": _LIFECYCLE_STAGE,
            "last_update_time": _INT64,
            "creation_time": _INT64,
            "tags": _array(ref("ExperimentTag")),
        },
        ("experiment_id", "name", "artifact_location", "lifecycle_stage"),
    ),
    "Metric": _object(
        {
            "key": _STRING,
            "value": {
                "anyOf": [{"type": "number"}, _enum("NaN", "Infinity", "-Infinity")],
                "description": "A double; a non-finite one as a string",
            },
            "timestamp": _INT64,
            "step": _INT64,
            "run_id": _STRING,
            "model_id": _STRING,
            "dataset_name": _STRING,
            "dataset_digest": _STRING,
        },
        ("key", "value", "timestamp", "step"),
        "One point of a metric",
    ),
    "Param": _key_value("A parameter of a run"),
    "RunTag": _key_value("A tag of a run"),
    "RunInfo": _object(
        {
            "run_id": _STRING,
            "run_uuid": {**_STRING, "description": "The same as run_id (deprecated by MLflow)"},
            "run_name": _STRING,
            "experiment_id": _STRING,
            "user_id": _STRING,
            "status": _enum("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"),
            "start_time": _INT64,
            "end_time": _INT64,
            "artifact_uri": _STRING,
            "lifecycle_stage": _LIFECYCLE_STAGE,
        },
        ("run_id", "run_uuid", "experiment_id", "status", "artifact_uri", "lifecycle_stage"),
    ),
    "RunData": _object(
        {"metrics": _array(ref("Metric")), "params": _array(ref("Param")), "tags": _array(ref("RunTag"))},
        description="The latest value of each metric, the params and the tags of a run",
    ),
    "Dataset": _object(
        {
            "name": _STRING,
            "digest": _STRING,
            "source_type": _STRING,
            "source": _STRING,
            "schema": {**_STRING, "description": "JSON text"},
            "profile": {**_STRING, "description": "JSON text"},
        },
        ("name", "digest"),
    ),
    "InputTag": _key_value("A tag of a dataset input (such as mlflow.data.context)"),
    "DatasetInput": _object({"tags": _array(ref("InputTag")), "dataset": ref("Dataset")}),
    "ModelInput": _object({"model_id": _STRING}, ("model_id",)),
    "ModelOutput": _object({"model_id": _STRING, "step": _INT64}, ("model_id",)),
    "RunInputs": _object({"dataset_inputs": _array(ref("DatasetInput")), "model_inputs": _array(ref("ModelInput"))}),
    "RunOutputs": _object({"model_outputs": _array(ref("ModelOutput"))}),
    "Run": _object(
        {"info": ref("RunInfo"), "data": ref("RunData"), "inputs": ref("RunInputs"), "outputs": ref("RunOutputs")},
        ("info", "data"),
    ),
    "ModelVersionTag": _key_value("A tag of a model version"),
    "ModelVersion": _object(
        {
            "name": _STRING,
            "version": _VERSION_NUMBER,
            "creation_timestamp": _INT64,
            "last_updated_timestamp": _INT64,
            "user_id": _STRING,
            "current_stage": {**_STRING, "description": "None, Staging, Production or Archived"},
            "description": _STRING,
            "source": _STRING,
            "run_id": _STRING,
            "status": _enum("PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"),
            "status_message": _STRING,
            "tags": _array(ref("ModelVersionTag")),
            "run_link": _STRING,
            "aliases": _array(_STRING),
            "model_id": _STRING,
        },
        ("name", "version", "creation_timestamp", "last_updated_timestamp", "current_stage", "source", "status"),
    ),
    "RegisteredModelTag": _key_value("A tag of a registered model"),
    "RegisteredModelAlias": _object({"alias": _STRING, "version": _VERSION_NUMBER}, ("alias", "version")),
    "RegisteredModel": _object(
        {
            "name": _STRING,
            "creation_timestamp": _INT64,
            "last_updated_timestamp": _INT64,
            "description": _STRING,
            "latest_versions": _array(ref("ModelVersion")),
            "tags": _array(ref("RegisteredModelTag")),
            "aliases": _array(ref("RegisteredModelAlias")),
        },
        ("name", "creation_timestamp", "last_updated_timestamp"),
    ),
    "LoggedModelTag": _key_value("A tag of a logged model"),
    "LoggedModelParameter": _key_value("A parameter of a logged model"),
    "LoggedModelInfo": _object(
        {
            "model_id": _STRING,
            "experiment_id": _STRING,
            "name": _STRING,
            "creation_timestamp_ms": _INT64,
            "last_updated_timestamp_ms": _INT64,
            "artifact_uri": _STRING,
            "status": _enum("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"),
            "model_type": _STRING,
            "source_run_id": _STRING,
            "status_message": _STRING,
            "tags": _array(ref("LoggedModelTag")),
        },
        (
            "model_id",
            "experiment_id",
            "name",
            "creation_timestamp_ms",
            "last_updated_timestamp_ms",
            "artifact_uri",
            "status",
        ),
    ),
    "LoggedModelData": _object({"params": _array(ref("LoggedModelParameter")), "metrics": _array(ref("Metric"))}),
    "LoggedModel": _object({"info": ref("LoggedModelInfo"), "data": ref("LoggedModelData")}, ("info", "data")),
    "DatasetSummary": _object(
        {"experiment_id": _STRING, "name": _STRING, "digest": _STRING, "context": _STRING},
        description="A dataset logged in an experiment, with the context it was logged in",
    ),
    "FileInfo": _object(
        {"path": _STRING, "is_dir": {"type": "boolean"}, "file_size": _INT64},
        ("path", "is_dir"),
        "An artifact file or directory (a directory has no file_size)",
    ),
}


def _one(field: str, schema: str) -> dict[str, Any]:
    """``{field: <schema>}``, always sent."""
    return _object({field: ref(schema)}, (field,))


def _page(field: str, schema: str) -> dict[str, Any]:
    """A page of a search: the items (left out when there are none) and the token of the next page
    (left out on the last page)."""
    return _object({field: _array(ref(schema)), "next_page_token": _STRING})


_EMPTY = ref("Empty")
_RUN = _one("run", "Run")
_REGISTERED_MODEL = _one("registered_model", "RegisteredModel")
_MODEL_VERSION = _one("model_version", "ModelVersion")
_LOGGED_MODEL = _one("model", "LoggedModel")
_METRICS = _object({"metrics": _array(ref("Metric"))})
_LISTING = _object({"root_uri": _STRING, "files": _array(ref("FileInfo")), "next_page_token": _STRING})

# (METHOD, path without the /api/2.0 or /api/3.0 prefix) -> the schema of the 200 body.
RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    # experiments
    ("POST", "/mlflow/experiments/create"): _object({"experiment_id": _STRING}, ("experiment_id",)),
    ("GET", "/mlflow/experiments/get"): _one("experiment", "Experiment"),
    ("GET", "/mlflow/experiments/get-by-name"): _one("experiment", "Experiment"),
    ("GET", "/mlflow/experiments/search"): _page("experiments", "Experiment"),
    ("POST", "/mlflow/experiments/search"): _page("experiments", "Experiment"),
    ("POST", "/mlflow/experiments/search-datasets"): _object({"dataset_summaries": _array(ref("DatasetSummary"))}),
    ("POST", "/mlflow/experiments/delete"): _EMPTY,
    ("POST", "/mlflow/experiments/restore"): _EMPTY,
    ("POST", "/mlflow/experiments/update"): _EMPTY,
    ("POST", "/mlflow/experiments/set-experiment-tag"): _EMPTY,
    ("POST", "/mlflow/experiments/delete-experiment-tag"): _EMPTY,
    # runs
    ("POST", "/mlflow/runs/create"): _RUN,
    ("GET", "/mlflow/runs/get"): _RUN,
    ("POST", "/mlflow/runs/update"): _one("run_info", "RunInfo"),
    ("POST", "/mlflow/runs/search"): _page("runs", "Run"),
    ("GET", "/mlflow/metrics/get-history"): _page("metrics", "Metric"),
    ("GET", "/mlflow/metrics/get-history-bulk"): _METRICS,
    ("GET", "/mlflow/metrics/get-history-bulk-interval"): _METRICS,
    ("POST", "/mlflow/runs/delete"): _EMPTY,
    ("POST", "/mlflow/runs/restore"): _EMPTY,
    ("POST", "/mlflow/runs/log-metric"): _EMPTY,
    ("POST", "/mlflow/runs/log-parameter"): _EMPTY,
    ("POST", "/mlflow/runs/set-tag"): _EMPTY,
    ("POST", "/mlflow/runs/delete-tag"): _EMPTY,
    ("POST", "/mlflow/runs/log-batch"): _EMPTY,
    ("POST", "/mlflow/runs/log-inputs"): _EMPTY,
    ("POST", "/mlflow/runs/log-model"): _EMPTY,
    ("POST", "/mlflow/runs/outputs"): _EMPTY,
    # registered models
    ("POST", "/mlflow/registered-models/create"): _REGISTERED_MODEL,
    ("GET", "/mlflow/registered-models/get"): _REGISTERED_MODEL,
    ("POST", "/mlflow/registered-models/rename"): _REGISTERED_MODEL,
    ("PATCH", "/mlflow/registered-models/update"): _REGISTERED_MODEL,
    ("GET", "/mlflow/registered-models/search"): _page("registered_models", "RegisteredModel"),
    ("GET", "/mlflow/registered-models/get-latest-versions"): _object({"model_versions": _array(ref("ModelVersion"))}),
    ("POST", "/mlflow/registered-models/get-latest-versions"): _object({"model_versions": _array(ref("ModelVersion"))}),
    ("GET", "/mlflow/registered-models/alias"): _MODEL_VERSION,
    ("DELETE", "/mlflow/registered-models/delete"): _EMPTY,
    ("POST", "/mlflow/registered-models/set-tag"): _EMPTY,
    ("DELETE", "/mlflow/registered-models/delete-tag"): _EMPTY,
    ("POST", "/mlflow/registered-models/alias"): _EMPTY,
    ("DELETE", "/mlflow/registered-models/alias"): _EMPTY,
    # model versions
    ("POST", "/mlflow/model-versions/create"): _MODEL_VERSION,
    ("GET", "/mlflow/model-versions/get"): _MODEL_VERSION,
    ("PATCH", "/mlflow/model-versions/update"): _MODEL_VERSION,
    ("POST", "/mlflow/model-versions/transition-stage"): _MODEL_VERSION,
    ("GET", "/mlflow/model-versions/search"): _page("model_versions", "ModelVersion"),
    ("GET", "/mlflow/model-versions/get-download-uri"): _object({"artifact_uri": _STRING}, ("artifact_uri",)),
    ("DELETE", "/mlflow/model-versions/delete"): _EMPTY,
    ("POST", "/mlflow/model-versions/set-tag"): _EMPTY,
    ("DELETE", "/mlflow/model-versions/delete-tag"): _EMPTY,
    # logged models (MLflow 3)
    ("POST", "/mlflow/logged-models"): _LOGGED_MODEL,
    ("GET", "/mlflow/logged-models/{model_id}"): _LOGGED_MODEL,
    ("PATCH", "/mlflow/logged-models/{model_id}"): _LOGGED_MODEL,
    ("POST", "/mlflow/logged-models/search"): _page("models", "LoggedModel"),
    ("DELETE", "/mlflow/logged-models/{model_id}"): _EMPTY,
    ("PATCH", "/mlflow/logged-models/{model_id}/tags"): _EMPTY,
    ("DELETE", "/mlflow/logged-models/{model_id}/tags/{tag_key}"): _EMPTY,
    ("POST", "/mlflow/logged-models/{model_id}/params"): _EMPTY,
    # artifact listings ({} for a file or a missing path, as MLflow answers)
    ("GET", "/mlflow/artifacts/list"): _LISTING,
    ("GET", "/mlflow/logged-models/{model_id}/artifacts/directories"): _LISTING,
    ("GET", "/mlflow-artifacts/artifacts"): _object({"files": _array(ref("FileInfo"))}),
}


def response_schema(method: str, path: str) -> dict[str, Any] | None:
    """The schema of the 200 body of ``method path`` (``path`` without its API prefix), or None when
    it is not described here."""
    return RESPONSES.get((method.upper(), path))
