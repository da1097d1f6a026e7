"""The registry service over HTTP: the same surface as :class:`~dockyard.registry.service.RegistryService`,
spoken as MLflow's model registry REST API (``/api/2.0/mlflow/registered-models/...``,
``/mlflow/model-versions/...``, ``/mlflow/webhooks``) plus Dockyard's ``/api/2.0/dockyard/registry/...``
(events, promote, rollback, lineage, webhook deliveries).

Transport, retries and error decoding are :class:`~dockyard.core.transport.HttpTransport`'s, shared with
the tracking client of the same server, so errors come back as the same exception classes as from a
local store.
Creating a model, a version or a webhook, promoting and rolling back are not retried once the request
may have reached the server (a second rollback would go one step further back); everything else is
idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.core.identity import current_user
from dockyard.core.paging import Page
from dockyard.core.transport import API, EXTENSIONS, HttpTransport
from dockyard.core.wire import encode_key_values
from dockyard.registry import validation as v
from dockyard.registry import wire
from dockyard.registry.entities import ModelVersion, RegisteredModel, RegistryEvent, Stage, Webhook, WebhookDelivery
from dockyard.registry.gates import (
    Gate,
    GateCheck,
    RuleResult,
    Validation,
    decode_check,
    decode_gate,
    decode_validation,
    encode_result,
)
from dockyard.registry.lineage import Lineage, decode_lineage
from dockyard.registry.webhooks import TestResult


def _tags(tags: dict[str, Any] | None) -> list[dict[str, str]]:
    return encode_key_values({k: str(x) for k, x in (tags or {}).items()})


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    return {k: x for k, x in body.items() if x is not None}


# Dockyard's own webhook events (model_version.stage_changed) reach only a client that asks for them (MLflow's
# client cannot parse them); this one always asks, so a webhook's events round-trip whole.
_EXTRAS: dict[str, Any] = {wire.INCLUDE_DOCKYARD_EVENTS: True}


class RemoteRegistryService:
    """Registry calls against a server at ``base_url``; ``http`` may be any httpx2-compatible client
    (the tests pass Starlette's TestClient). Alias moves, stage transitions and deletions send this
    process's user (or ``user_id``) for the server's audit history."""

    def __init__(
        self,
        base_url: str,
        *,
        http: Any = None,
        retries: int = 5,
        backoff: float = 0.5,
        transport: HttpTransport | None = None,
    ) -> None:
        # A transport passed in is shared with the tracking client of the same server and closed by its
        # owner (tracking.backends.close_all); one made here is this client's own.
        self._owns_transport = transport is None
        self.transport = transport or HttpTransport(base_url, http=http, retries=retries, backoff=backoff)
        self.base_url = self.transport.base_url

    def close(self) -> None:
        if self._owns_transport:
            self.transport.close()

    def _call(self, method: str, path: str, body: dict[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        return self.transport.call(method, API + path, _clean(body), idempotent=idempotent)

    def _extension(self, method: str, path: str, body: dict[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        return self.transport.call(method, EXTENSIONS + path, _clean(body), idempotent=idempotent)

    @staticmethod
    def _user(user_id: str | None) -> str:
        return user_id or current_user()

    # ------------------------------------------------------------------ registered models

    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        body = {"name": v.check_model_name(name), "tags": _tags(tags), "description": description}
        out = self._call("POST", "/registered-models/create", body, idempotent=False)
        return wire.decode_registered_model(out["registered_model"])

    def get_registered_model(self, name: str) -> RegisteredModel:
        out = self._call("GET", "/registered-models/get", {"name": v.check_model_name(name)})
        return wire.decode_registered_model(out["registered_model"])

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        body = {"name": v.check_model_name(name), "new_name": v.check_model_name(new_name, "new_name")}
        return wire.decode_registered_model(self._call("POST", "/registered-models/rename", body)["registered_model"])

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        body = {"name": v.check_model_name(name), "description": description}
        return wire.decode_registered_model(self._call("PATCH", "/registered-models/update", body)["registered_model"])

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", "/registered-models/delete", {"name": v.check_model_name(name)})

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        body = {"name": v.check_model_name(name), "key": key, "value": None if value is None else str(value)}
        self._call("POST", "/registered-models/set-tag", body)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", "/registered-models/delete-tag", {"name": v.check_model_name(name), "key": key})

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        body = {
            "filter": filter_string,
            "max_results": max_results,
            "order_by": list(order_by or []) or None,
            "page_token": page_token or None,
        }
        out = self._call("GET", "/registered-models/search", body)
        models = [wire.decode_registered_model(m) for m in out.get("registered_models", [])]
        return Page(models, out.get("next_page_token", ""))

    def get_latest_versions(self, name: str, stages: Sequence[str | Stage] | None = None) -> list[ModelVersion]:
        if isinstance(stages, str):
            raise InvalidParameter("stages must be a list of stage names such as ['Production']")
        body = {"name": v.check_model_name(name), "stages": [str(s) for s in stages or ()]}
        out = self._call("POST", "/registered-models/get-latest-versions", body)
        return [wire.decode_model_version(m) for m in out.get("model_versions", [])]

    # ------------------------------------------------------------------ versions

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        model_id: str | None = None,
        run_link: str | None = None,
        user_id: str | None = None,
    ) -> ModelVersion:
        if run_id is None and isinstance(source, str) and source.startswith("runs:/"):
            # A server checks that run_id names the run of a runs:/ source (MLflow's rule): send it.
            run_id = source[len("runs:/") :].partition("/")[0] or None
        body = {
            "name": v.check_model_name(name),
            "source": source,
            "run_id": run_id,
            "tags": _tags(tags),
            "description": description,
            "model_id": model_id,
            "run_link": run_link,
            "user_id": self._user(user_id),
        }
        out = self._call("POST", "/model-versions/create", body, idempotent=False)
        return wire.decode_model_version(out["model_version"])

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        body = {"name": v.check_model_name(name), "version": str(v.check_version(version))}
        return wire.decode_model_version(self._call("GET", "/model-versions/get", body)["model_version"])

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        body = {"name": v.check_model_name(name), "version": str(v.check_version(version)), "description": description}
        return wire.decode_model_version(self._call("PATCH", "/model-versions/update", body)["model_version"])

    def delete_model_version(self, name: str, version: int | str, user_id: str | None = None) -> None:
        body = {
            "name": v.check_model_name(name),
            "version": str(v.check_version(version)),
            "user_id": self._user(user_id),
        }
        self._call("DELETE", "/model-versions/delete", body)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        body = {
            "name": v.check_model_name(name),
            "version": str(v.check_version(version)),
            "key": key,
            "value": None if value is None else str(value),
        }
        self._call("POST", "/model-versions/set-tag", body)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        body = {"name": v.check_model_name(name), "version": str(v.check_version(version)), "key": key}
        self._call("DELETE", "/model-versions/delete-tag", body)

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str | Stage,
        archive_existing_versions: bool = False,
        reason: str | None = None,
        user_id: str | None = None,
    ) -> ModelVersion:
        body = {
            "name": v.check_model_name(name),
            "version": str(v.check_version(version)),
            "stage": str(stage),
            "archive_existing_versions": archive_existing_versions,
            "reason": reason,
            "user_id": self._user(user_id),
        }
        return wire.decode_model_version(self._call("POST", "/model-versions/transition-stage", body)["model_version"])

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        body = {
            "filter": filter_string,
            "max_results": max_results,
            "order_by": list(order_by or []) or None,
            "page_token": page_token or None,
        }
        out = self._call("GET", "/model-versions/search", body)
        return Page(
            [wire.decode_model_version(m) for m in out.get("model_versions", [])], out.get("next_page_token", "")
        )

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        body = {"name": v.check_model_name(name), "version": str(v.check_version(version))}
        return str(self._call("GET", "/model-versions/get-download-uri", body)["artifact_uri"])

    # ------------------------------------------------------------------ aliases and history

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        body = {
            "name": v.check_model_name(name),
            "alias": alias,
            "version": str(v.check_version(version)),
            "reason": reason,
            "user_id": self._user(user_id),
        }
        self._call("POST", "/registered-models/alias", body)

    def delete_registered_model_alias(
        self, name: str, alias: str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        body = {"name": v.check_model_name(name), "alias": alias, "reason": reason, "user_id": self._user(user_id)}
        self._call("DELETE", "/registered-models/alias", body)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        out = self._call("GET", "/registered-models/alias", {"name": v.check_model_name(name), "alias": alias})
        return wire.decode_model_version(out["model_version"])

    def get_registry_events(
        self,
        name: str,
        alias: str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> Page[RegistryEvent]:
        body = {
            "name": v.check_model_name(name),
            "alias": alias,
            "max_results": max_results,
            "page_token": page_token or None,
            "newest_first": "true" if newest_first else None,
        }
        out = self._extension("GET", "/registry/events", body)
        return Page([wire.decode_event(e) for e in out.get("events", [])], out.get("next_page_token", ""))

    # ------------------------------------------------------------------ promotion, rollback, lineage

    def promote(
        self,
        name: str,
        version: int | str,
        alias: str | None = None,
        stage: str | Stage | None = None,
        reason: str | None = None,
        user_id: str | None = None,
        archive_existing: bool = False,
        force: bool = False,
    ) -> ModelVersion:
        body = {
            "name": v.check_model_name(name),
            "version": str(v.check_version(version)),
            "alias": alias,
            "stage": None if stage is None else str(stage),
            "archive_existing": archive_existing,
            "force": True if force else None,
            "reason": reason,
            "user_id": self._user(user_id),
        }
        out = self._extension("POST", "/registry/promote", body, idempotent=False)
        return wire.decode_model_version(out["model_version"])

    def rollback(self, name: str, alias: str, reason: str | None = None, user_id: str | None = None) -> ModelVersion:
        body = {"name": v.check_model_name(name), "alias": alias, "reason": reason, "user_id": self._user(user_id)}
        out = self._extension("POST", "/registry/rollback", body, idempotent=False)
        return wire.decode_model_version(out["model_version"])

    def get_model_version_lineage(self, name: str, version: int | str) -> Lineage:
        body = {"name": v.check_model_name(name), "version": str(v.check_version(version))}
        return decode_lineage(self._extension("GET", "/registry/lineage", body)["lineage"])

    # ------------------------------------------------------------------ gates and validations

    @staticmethod
    def _target(alias: str | None, stage: str | Stage | None) -> dict[str, Any]:
        return {"alias": alias, "stage": None if stage is None else str(stage)}

    def set_gate(
        self,
        name: str,
        rules: Sequence[str],
        alias: str | None = None,
        stage: str | Stage | None = None,
        user_id: str | None = None,
    ) -> Gate:
        if isinstance(rules, str):
            raise InvalidParameter("rules must be a list of rules such as ['roc_auc >= 0.8']")
        body = {"name": v.check_model_name(name), "rules": list(rules), **self._target(alias, stage)}
        body["user_id"] = self._user(user_id)
        return decode_gate(self._extension("POST", "/registry/gates/set", body)["gate"])

    def get_gates(self, name: str) -> list[Gate]:
        out = self._extension("GET", "/registry/gates/get", {"name": v.check_model_name(name)})
        return [decode_gate(x) for x in out.get("gates", [])]

    def delete_gate(self, name: str, alias: str | None = None, stage: str | Stage | None = None) -> None:
        body = {"name": v.check_model_name(name), **self._target(alias, stage)}
        self._extension("DELETE", "/registry/gates/delete", body)

    def check_gate(
        self, name: str, version: int | str, alias: str | None = None, stage: str | Stage | None = None
    ) -> GateCheck:
        body = {
            "name": v.check_model_name(name),
            "version": str(v.check_version(version)),
            **self._target(alias, stage),
        }
        return decode_check(self._extension("GET", "/registry/gates/check", body)["check"])

    def log_validation(
        self,
        name: str,
        version: int | str,
        results: Sequence[RuleResult],
        baseline_version: int | str | None = None,
        data_digest: str | None = None,
        metrics: dict[str, float] | None = None,
        report_uri: str | None = None,
        user_id: str | None = None,
    ) -> Validation:
        body = {
            "name": v.check_model_name(name),
            "version": str(v.check_version(version)),
            "results": [encode_result(r) for r in results],
            "baseline_version": None if baseline_version in (None, "") else str(baseline_version),
            "data_digest": data_digest,
            "metrics": metrics,
            "report_uri": report_uri,
            "user_id": self._user(user_id),
        }
        out = self._extension("POST", "/registry/validations/create", body, idempotent=False)
        return decode_validation(out["validation"])

    def list_validations(self, name: str, version: int | str | None = None, max_results: int = 100) -> list[Validation]:
        body = {
            "name": v.check_model_name(name),
            "version": None if version is None else str(v.check_version(version)),
            "max_results": max_results,
        }
        out = self._extension("GET", "/registry/validations/list", body)
        return [decode_validation(x) for x in out.get("validations", [])]

    def report_drift(
        self,
        name: str,
        version: int | str,
        drifted: Sequence[str] = (),
        failed_rules: Sequence[str] = (),
        metrics: dict[str, float] | None = None,
        run_id: str | None = None,
    ) -> None:
        body = {
            "name": v.check_model_name(name),
            "version": str(v.check_version(version)),
            "drifted": list(drifted),
            "failed_rules": list(failed_rules),
            "metrics": metrics,
            "run_id": run_id,
        }
        self._extension("POST", "/registry/monitoring/drift", body, idempotent=False)

    # ------------------------------------------------------------------ webhooks

    def _webhook_path(self, webhook_id: str) -> str:
        from urllib.parse import quote

        if not isinstance(webhook_id, str) or not webhook_id:
            raise InvalidParameter("Missing value for required parameter 'webhook_id'")
        return f"/webhooks/{quote(webhook_id, safe='')}"

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        secret: str | None = None,
        status: str = "ACTIVE",
    ) -> Webhook:
        if isinstance(events, str):
            raise InvalidParameter("webhook events must be a list such as ['model_version.created']")
        body = {
            "name": name,
            "url": url,
            "events": [wire.encode_webhook_event(e) for e in events],
            "description": description,
            "secret": secret,
            "status": status,
            **_EXTRAS,
        }
        return wire.decode_webhook(self._call("POST", "/webhooks", body, idempotent=False)["webhook"])

    def get_webhook(self, webhook_id: str) -> Webhook:
        return wire.decode_webhook(self._call("GET", self._webhook_path(webhook_id), dict(_EXTRAS))["webhook"])

    def list_webhooks(self, max_results: int = 100, page_token: str | None = None) -> Page[Webhook]:
        body = {"max_results": max_results, "page_token": page_token or None, **_EXTRAS}
        out = self._call("GET", "/webhooks", body)
        return Page([wire.decode_webhook(w) for w in out.get("webhooks", [])], out.get("next_page_token", ""))

    def update_webhook(
        self,
        webhook_id: str,
        name: str | None = None,
        description: str | None = None,
        url: str | None = None,
        events: Sequence[str] | None = None,
        secret: str | None = None,
        status: str | None = None,
    ) -> Webhook:
        body = {
            "name": name,
            "description": description,
            "url": url,
            "events": None if events is None else [wire.encode_webhook_event(e) for e in events],
            "secret": secret,
            "status": status,
            **_EXTRAS,
        }
        return wire.decode_webhook(self._call("PATCH", self._webhook_path(webhook_id), body)["webhook"])

    def delete_webhook(self, webhook_id: str) -> None:
        self._call("DELETE", self._webhook_path(webhook_id), {})

    def test_webhook(self, webhook_id: str, event: str | None = None) -> TestResult:
        body = {"event": None if event is None else wire.encode_webhook_event(event)}
        out = self._call("POST", self._webhook_path(webhook_id) + "/test", body, idempotent=False)
        return wire.decode_test_result(out["result"])

    def list_webhook_deliveries(
        self, webhook_id: str | None = None, max_results: int = 100, page_token: str | None = None
    ) -> Page[WebhookDelivery]:
        body = {"webhook_id": webhook_id or None, "max_results": max_results, "page_token": page_token or None}
        out = self._extension("GET", "/registry/webhook-deliveries", body)
        return Page([wire.decode_delivery(d) for d in out.get("deliveries", [])], out.get("next_page_token", ""))
