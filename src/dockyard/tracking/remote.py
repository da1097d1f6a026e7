"""The tracking service over HTTP: the same surface as :class:`TrackingService`, spoken as MLflow's REST API.

``DOCKYARD_TRACKING_URI=http://host:5000`` makes the client and the fluent API use this. It talks to
``dockyard server`` (or any MLflow tracking server) through ``/api/2.0/mlflow/...`` and decodes error
envelopes back into Dockyard's exception classes, so callers write ``except RunNotFound`` either way.

Retries, with exponential backoff: a request that never reached the server (connection refused, DNS,
connect timeout) and a 503 (the server's store was unavailable and did nothing) are retried for every
call; a timeout or a dropped connection after the request was sent is retried only for idempotent
calls (reads, searches, updates, deletes), never for ones that would write twice (creating a run or an
experiment, logging metric points).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dockyard.core.clock import now_ms
from dockyard.core.errors import ExperimentNotFound, InvalidParameter
from dockyard.core.paging import Page
from dockyard.core.transport import API, EXTENSIONS, HttpTransport
from dockyard.tracking import validation as v
from dockyard.tracking import wire
from dockyard.tracking.entities import (
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    Experiment,
    ExperimentKeys,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelInput,
    ModelOutput,
    Param,
    Run,
    RunInfo,
    RunStats,
    RunStatus,
    RunTag,
    ViewType,
)

AJAX_API = "/ajax-api/2.0/mlflow"  # the calls MLflow serves for its web UI only


class RemoteTrackingService:
    """Tracking calls against a server at ``base_url``; ``http`` may be any httpx2-compatible client
    (the tests pass Starlette's TestClient, which runs the app in process)."""

    def __init__(
        self,
        base_url: str,
        *,
        http: Any = None,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 120.0,
        transport: HttpTransport | None = None,
    ) -> None:
        # A transport passed in is shared (tracking.backends gives the registry client the same one) and
        # closed by its owner; one made here is this client's own.
        self._owns_transport = transport is None
        self.transport = transport or HttpTransport(
            base_url, http=http, retries=retries, backoff=backoff, timeout=timeout
        )
        self.base_url = self.transport.base_url
        self.checks = v.EntityChecks()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, idempotent: bool) -> dict[str, Any]:
        return self.transport.call(method, path, body, idempotent=idempotent)

    def _get(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("GET", API + path, body, idempotent=True)

    def _post(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        return self.call("POST", API + path, body, idempotent=idempotent)

    def close(self) -> None:
        if self._owns_transport:
            self.transport.close()

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        name = v.check_experiment_name(name)
        body: dict[str, Any] = {
            "name": name,
            "tags": wire.encode_key_values({k: str(x) for k, x in (tags or {}).items()}),
        }
        if artifact_location:
            body["artifact_location"] = artifact_location
        return str(self._post("/experiments/create", body, idempotent=False)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        experiment_id = v.check_experiment_id(experiment_id)
        return wire.decode_experiment(self._get("/experiments/get", {"experiment_id": experiment_id})["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        name = v.check_experiment_name(name, "experiment_name")
        try:
            found = self._get("/experiments/get-by-name", {"experiment_name": name})
        except ExperimentNotFound:
            return None
        except Exception as exc:  # another server may answer the plain class for the same code
            if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return wire.decode_experiment(found["experiment"])

    def search_experiments(
        self,
        view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        body = {
            "view_type": str(ViewType.parse(view_type).value) if _is_view(view_type) else view_type,
            "max_results": max_results,
            "filter": filter_string,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        out = self._post("/experiments/search", {k: x for k, x in body.items() if x is not None})
        return Page([wire.decode_experiment(e) for e in out.get("experiments", [])], out.get("next_page_token", ""))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._post("/experiments/update", {"experiment_id": v.check_experiment_id(experiment_id), "new_name": new_name})

    def delete_experiment(self, experiment_id: str) -> None:
        self._post("/experiments/delete", {"experiment_id": v.check_experiment_id(experiment_id)})

    def restore_experiment(self, experiment_id: str) -> None:
        self._post("/experiments/restore", {"experiment_id": v.check_experiment_id(experiment_id)})

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._post(
            "/experiments/set-experiment-tag",
            {"experiment_id": v.check_experiment_id(experiment_id), "key": key, "value": str(value)},
        )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._post(
            "/experiments/delete-experiment-tag", {"experiment_id": v.check_experiment_id(experiment_id), "key": key}
        )

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str,
        user_id: str | None = None,
        start_time: int | None = None,
        run_name: str | None = None,
        tags: dict[str, Any] | Iterable[RunTag] | None = None,
    ) -> Run:
        checked = self.checks.tags(tags)
        body: dict[str, Any] = {
            "experiment_id": v.check_experiment_id(experiment_id),
            "start_time": now_ms() if start_time is None else start_time,
            "tags": [{"key": t.key, "value": t.value} for t in checked],
        }
        if user_id is not None:
            body["user_id"] = user_id
        if run_name is not None:
            body["run_name"] = run_name
        return wire.decode_run(self._post("/runs/create", body, idempotent=False)["run"])

    def get_run(self, run_id: str) -> Run:
        run_id = v.check_run_id(run_id)
        return wire.decode_run(self._get("/runs/get", {"run_id": run_id, "run_uuid": run_id})["run"])

    def update_run(
        self,
        run_id: str,
        status: str | RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        run_id = v.check_run_id(run_id)
        body: dict[str, Any] = {"run_id": run_id, "run_uuid": run_id}
        if status is not None:
            body["status"] = status.value if isinstance(status, RunStatus) else status
        if end_time is not None:
            body["end_time"] = end_time
        if run_name is not None:
            body["run_name"] = run_name
        return wire.decode_run_info(self._post("/runs/update", body)["run_info"])

    def set_terminated(
        self, run_id: str, status: str | RunStatus = RunStatus.FINISHED, end_time: int | None = None
    ) -> RunInfo:
        return self.update_run(run_id, status=status, end_time=now_ms() if end_time is None else end_time)

    def finish_run(
        self,
        run_id: str,
        status: str | RunStatus = RunStatus.FINISHED,
        end_time: int | None = None,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """The run's last values, then its end: two calls (MLflow's API has no call doing both)."""
        if metrics or params or tags:
            self.log_batch(run_id, metrics, params, tags)
        self.set_terminated(run_id, status, end_time)

    def delete_run(self, run_id: str) -> None:
        self._post("/runs/delete", {"run_id": v.check_run_id(run_id)})

    def restore_run(self, run_id: str) -> None:
        self._post("/runs/restore", {"run_id": v.check_run_id(run_id)})

    # ------------------------------------------------------------------ logging

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        run_id = v.check_run_id(run_id)
        body = {
            "run_id": run_id,
            "metrics": [wire.encode_metric(self.checks.metric(m)) for m in metrics],
            "params": [{"key": p.key, "value": p.value} for p in (self.checks.param(p) for p in params)],
            "tags": [{"key": t.key, "value": t.value} for t in self.checks.tags(tags)],
        }
        # Points must not be written twice; params and tags are idempotent on their own.
        self._post("/runs/log-batch", body, idempotent=not metrics)

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int = 0) -> None:
        m = self.checks.metric(Metric(key, value, now_ms() if timestamp is None else timestamp, step))
        run_id = v.check_run_id(run_id)
        body = {"run_id": run_id, "run_uuid": run_id, **wire.encode_metric(m)}
        self._post("/runs/log-metric", body, idempotent=False)

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        p = self.checks.param(Param(key, value))
        run_id = v.check_run_id(run_id)
        self._post("/runs/log-parameter", {"run_id": run_id, "run_uuid": run_id, "key": p.key, "value": p.value})

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        (t,) = self.checks.tags({key: value})
        run_id = v.check_run_id(run_id)
        self._post("/runs/set-tag", {"run_id": run_id, "run_uuid": run_id, "key": t.key, "value": t.value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._post("/runs/delete-tag", {"run_id": v.check_run_id(run_id), "key": key})

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = (), models: Sequence[ModelInput] = ()) -> None:
        body: dict[str, Any] = {
            "run_id": v.check_run_id(run_id),
            "datasets": [wire.encode_dataset_input(d) for d in datasets],
        }
        if models:
            body["models"] = [{"model_id": m.model_id} for m in models]
        self._post("/runs/log-inputs", body)

    def get_metric_history(
        self, run_id: str, key: str, max_results: int = v.MAX_METRIC_HISTORY_PAGE, page_token: str | None = None
    ) -> Page[Metric]:
        run_id = v.check_run_id(run_id)
        body: dict[str, Any] = {"run_id": run_id, "run_uuid": run_id, "metric_key": key, "max_results": max_results}
        if page_token:
            body["page_token"] = page_token
        out = self._get("/metrics/get-history", body)
        return Page([wire.decode_metric(m) for m in out.get("metrics", [])], out.get("next_page_token", ""))

    def get_metric_histories(
        self, run_ids: Sequence[str], key: str, max_results: int = v.MAX_METRIC_HISTORY_PAGE
    ) -> list[Metric]:
        out = self.call(
            "POST",
            EXTENSIONS + "/metrics/get-histories",
            {"run_ids": list(run_ids), "metric_key": key, "max_results": max_results},
            idempotent=True,
        )
        return [wire.decode_metric(m) for m in out.get("metrics", [])]

    def get_metric_history_downsampled(
        self,
        run_id: str,
        key: str,
        max_points: int = 1000,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[Metric]:
        body = {
            "run_id": run_id,
            "metric_key": key,
            "max_points": max_points,
            "start_step": start_step,
            "end_step": end_step,
        }
        out = self.call("GET", EXTENSIONS + "/metrics/get-history-downsampled", body, idempotent=True)
        return [wire.decode_metric(m) for m in out.get("metrics", [])]

    def experiment_run_stats(self, experiment_ids: Sequence[str]) -> list[RunStats]:
        if isinstance(experiment_ids, str):
            raise InvalidParameter("experiment_ids must be a list of experiment ids, not a string")
        body = {"experiment_ids": [str(e) for e in experiment_ids]}
        out = self.call("POST", EXTENSIONS + "/experiments/run-stats", body, idempotent=True)
        return [wire.decode_run_stats(s) for s in out.get("experiments", [])]

    def experiment_keys(self, experiment_ids: Sequence[str]) -> ExperimentKeys:
        if isinstance(experiment_ids, str):
            raise InvalidParameter("experiment_ids must be a list of experiment ids, not a string")
        body = {"experiment_ids": [str(e) for e in experiment_ids]}
        out = self.call("POST", EXTENSIONS + "/experiments/keys", body, idempotent=True)
        return wire.decode_experiment_keys(out)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[Run]:
        if isinstance(experiment_ids, str) or not experiment_ids:
            raise InvalidParameter("experiment_ids must be a non-empty list of experiment ids")
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string,
            "run_view_type": ViewType.parse(run_view_type).value if _is_view(run_view_type) else run_view_type,
            "max_results": max_results,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        out = self._post("/runs/search", {k: x for k, x in body.items() if x is not None})
        return Page([wire.decode_run(r) for r in out.get("runs", [])], out.get("next_page_token", ""))

    # ------------------------------------------------------------------ logged models (MLflow 3)

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        creator_id: str | None = None,
    ) -> LoggedModel:
        body: dict[str, Any] = {
            "experiment_id": v.check_experiment_id(experiment_id),
            "params": wire.encode_key_values({k: str(x) for k, x in (params or {}).items()}),
            "tags": wire.encode_key_values({k: str(x) for k, x in (tags or {}).items()}),
        }
        for key, value in (("name", name), ("model_type", model_type), ("source_run_id", source_run_id)):
            if value:
                body[key] = value
        return wire.decode_logged_model(self._post("/logged-models", body, idempotent=False)["model"])

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return wire.decode_logged_model(self._get(f"/logged-models/{_model_path(model_id)}", {})["model"])

    def finalize_logged_model(self, model_id: str, status: str | LoggedModelStatus) -> LoggedModel:
        value = status.value if isinstance(status, LoggedModelStatus) else status
        out = self.call(
            "PATCH",
            f"{API}/logged-models/{_model_path(model_id)}",
            {"model_id": model_id, "status": value},
            idempotent=True,
        )
        return wire.decode_logged_model(out["model"])

    def delete_logged_model(self, model_id: str) -> None:
        self.call("DELETE", f"{API}/logged-models/{_model_path(model_id)}", {"model_id": model_id}, idempotent=True)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        body = {"model_id": model_id, "tags": wire.encode_key_values({k: str(x) for k, x in tags.items()})}
        self.call("PATCH", f"{API}/logged-models/{_model_path(model_id)}/tags", body, idempotent=True)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        from urllib.parse import quote

        path = f"{API}/logged-models/{_model_path(model_id)}/tags/{quote(key, safe='')}"
        self.call("DELETE", path, {}, idempotent=True)

    def log_logged_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        body = {"model_id": model_id, "params": wire.encode_key_values({k: str(x) for k, x in params.items()})}
        self._post(f"/logged-models/{_model_path(model_id)}/params", body)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 50,
        page_token: str | None = None,
        datasets: Sequence[DatasetRef] | None = None,
    ) -> Page[LoggedModel]:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string,
            "order_by": list(order_by or []),
            "max_results": max_results,
            "page_token": page_token,
            "datasets": [wire.encode_dataset_ref(d) for d in datasets] if datasets else None,
        }
        out = self._post("/logged-models/search", {k: x for k, x in body.items() if x is not None})
        return Page([wire.decode_logged_model(m) for m in out.get("models", [])], out.get("next_page_token", ""))

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        # MLflow serves this call for its UI only, under /ajax-api.
        out = self.call(
            "POST", AJAX_API + "/experiments/search-datasets", {"experiment_ids": list(experiment_ids)}, idempotent=True
        )
        return [wire.decode_dataset_summary(d) for d in out.get("dataset_summaries", [])]

    def log_outputs(self, run_id: str, outputs: Sequence[ModelOutput]) -> None:
        body = {"run_id": v.check_run_id(run_id), "models": [{"model_id": o.model_id, "step": o.step} for o in outputs]}
        self._post("/runs/outputs", body)


def _model_path(model_id: str) -> str:
    if not isinstance(model_id, str) or not model_id.startswith("m-") or "/" in model_id:
        raise InvalidParameter(f"model_id {model_id!r} is not a logged model id (m-<hex>)")
    return model_id


def _is_view(value: Any) -> bool:
    try:
        ViewType.parse(value)
    except ValueError:
        return False
    return True
