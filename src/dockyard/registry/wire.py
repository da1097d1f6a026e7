"""The registry JSON codec: entities <-> MLflow's protobuf-JSON (``model_registry.proto``), both ways.

MLflow's conventions: snake_case names, enums by name, int64 timestamps as numbers, empty fields
omitted, and a version number as a *string* (``"version": "3"``), in aliases too. The audit events
(Dockyard's own ``/api/2.0/dockyard/registry/events``) follow the same rules.

>>> encode_model_version(ModelVersion("churn", 3, 10, 20, source="runs:/r/model", aliases=("champion",)))["version"]
'3'
>>> decode_model_version({"name": "churn", "version": "3", "current_stage": "Production"}).current_stage
<Stage.PRODUCTION: 'Production'>
"""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.core.wire import decode_int, decode_key_values, drop_empty, encode_key_values
from dockyard.registry.entities import (
    DeliveryStatus,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    Stage,
    Webhook,
    WebhookDelivery,
    WebhookStatus,
)
from dockyard.registry.webhooks import TestResult


def _version(value: Any, field: str) -> int:
    number = decode_int(value, field)
    if number is None:
        raise InvalidParameter(f"{field}: missing version number")
    return number


def _optional_version(value: Any, field: str) -> int | None:
    return None if value is None or value == "" else _version(value, field)


def _stage(value: Any) -> Stage | None:
    return None if not value else Stage.parse(value)


def encode_model_version(m: ModelVersion) -> dict[str, Any]:
    return drop_empty(
        {
            "name": m.name,
            "version": str(m.version),
            "creation_timestamp": m.creation_timestamp,
            "last_updated_timestamp": m.last_updated_timestamp,
            "user_id": m.user_id,
            "current_stage": m.current_stage.value,
            "description": m.description,
            "source": m.source,
            "run_id": m.run_id,
            "status": m.status.value,
            "status_message": m.status_message,
            "tags": encode_key_values(m.tags),
            "run_link": m.run_link,
            "aliases": list(m.aliases),
            "model_id": m.model_id,
        }
    )


def decode_model_version(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        name=d.get("name", ""),
        version=_version(d.get("version"), "version"),
        creation_timestamp=decode_int(d.get("creation_timestamp"), "creation_timestamp", 0) or 0,
        last_updated_timestamp=decode_int(d.get("last_updated_timestamp"), "last_updated_timestamp", 0) or 0,
        description=d.get("description"),
        user_id=d.get("user_id") or None,
        current_stage=_stage(d.get("current_stage")) or Stage.NONE,
        source=d.get("source", ""),
        run_id=d.get("run_id") or None,
        run_link=d.get("run_link") or None,
        status=ModelVersionStatus(d.get("status") or "READY"),
        status_message=d.get("status_message") or None,
        tags=decode_key_values(d.get("tags"), "tags"),
        aliases=tuple(d.get("aliases") or ()),
        model_id=d.get("model_id") or None,
    )


def encode_registered_model(m: RegisteredModel) -> dict[str, Any]:
    return drop_empty(
        {
            "name": m.name,
            "creation_timestamp": m.creation_timestamp,
            "last_updated_timestamp": m.last_updated_timestamp,
            "description": m.description,
            "latest_versions": [encode_model_version(x) for x in m.latest_versions],
            "tags": encode_key_values(m.tags),
            "aliases": [{"alias": a, "version": str(x)} for a, x in m.aliases.items()],
        }
    )


def decode_registered_model(d: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        name=d.get("name", ""),
        creation_timestamp=decode_int(d.get("creation_timestamp"), "creation_timestamp", 0) or 0,
        last_updated_timestamp=decode_int(d.get("last_updated_timestamp"), "last_updated_timestamp", 0) or 0,
        description=d.get("description"),
        latest_versions=tuple(decode_model_version(x) for x in d.get("latest_versions") or ()),
        tags=decode_key_values(d.get("tags"), "tags"),
        aliases={a["alias"]: _version(a.get("version"), "aliases.version") for a in d.get("aliases") or ()},
    )


def encode_event(e: RegistryEvent) -> dict[str, Any]:
    return drop_empty(
        {
            "event_id": e.event_id,
            "timestamp": e.timestamp,
            "user_id": e.user_id,
            "name": e.name,
            "kind": e.kind.value,
            "alias": e.alias,
            "stage": None if e.stage is None else e.stage.value,
            "from_stage": None if e.from_stage is None else e.from_stage.value,
            "from_version": None if e.from_version is None else str(e.from_version),
            "to_version": None if e.to_version is None else str(e.to_version),
            "reason": e.reason,
            "undoes_event_id": e.undoes_event_id,
        }
    )


def decode_event(d: dict[str, Any]) -> RegistryEvent:
    return RegistryEvent(
        event_id=decode_int(d.get("event_id"), "event_id", 0) or 0,
        timestamp=decode_int(d.get("timestamp"), "timestamp", 0) or 0,
        user_id=d.get("user_id", ""),
        name=d.get("name", ""),
        kind=RegistryEventKind(str(d.get("kind", ""))),
        alias=d.get("alias"),
        stage=_stage(d.get("stage")),
        from_stage=_stage(d.get("from_stage")),
        from_version=_optional_version(d.get("from_version"), "from_version"),
        to_version=_optional_version(d.get("to_version"), "to_version"),
        reason=d.get("reason"),
        undoes_event_id=decode_int(d.get("undoes_event_id"), "undoes_event_id"),
    )


# ---------------------------------------------------------------------------------------- webhooks
# MLflow's webhooks.proto: an event is {"entity": "MODEL_VERSION", "action": "CREATED"} (enum names);
# Dockyard's own model_version.stage_changed is {"entity": "MODEL_VERSION", "action": "STAGE_CHANGED"}.
# MLflow's client refuses a whole answer that holds an event outside its own set (its enums and its
# entity/action pairs), and a webhook without events, so an MLflow-facing answer carries only MLflow's
# events and its lists leave out a webhook that has none; Dockyard's extras go to a client that asks with
# INCLUDE_DOCKYARD_EVENTS (Dockyard's own remote client always does).

MLFLOW_WEBHOOK_EVENTS = frozenset(
    {
        "registered_model.created",
        "model_version.created",
        "model_version_tag.set",
        "model_version_tag.deleted",
        "model_version_alias.created",
        "model_version_alias.deleted",
    }
)
INCLUDE_DOCKYARD_EVENTS = "include_dockyard_events"


def encode_webhook_event(event: str) -> dict[str, str]:
    entity, _, action = event.partition(".")
    return {"entity": entity.upper(), "action": action.upper()}


def decode_webhook_event(d: Any) -> str:
    if isinstance(d, str):  # Dockyard's CLI and client may send "model_version.created"
        return d
    if not isinstance(d, dict) or not d.get("entity") or not d.get("action"):
        raise InvalidParameter(f"webhook event {d!r} must be an object with 'entity' and 'action'")
    return f"{str(d['entity']).lower()}.{str(d['action']).lower()}"


def encode_webhook(w: Webhook, *, dockyard_events: bool = True) -> dict[str, Any]:
    """MLflow's ``Webhook`` message without its ``secret``: the entity has none, and no response carries it.
    With ``dockyard_events=False`` (what MLflow's clients get) only MLflow's events are listed; a webhook
    with none of them keeps all its events (MLflow's client cannot represent it either way, and a list
    leaves it out: :func:`has_mlflow_events`).

    >>> events = ("model_version.created", "model_version.stage_changed")
    >>> hook = Webhook("w1", "ci", "https://ci.example/h", events, 0, 0)
    >>> [e["action"] for e in encode_webhook(hook)["events"]]
    ['CREATED', 'STAGE_CHANGED']
    >>> [e["action"] for e in encode_webhook(hook, dockyard_events=False)["events"]]
    ['CREATED']
    """
    events = w.events if dockyard_events else [e for e in w.events if e in MLFLOW_WEBHOOK_EVENTS] or w.events
    return drop_empty(
        {
            "webhook_id": w.webhook_id,
            "name": w.name,
            "description": w.description,
            "url": w.url,
            "events": [encode_webhook_event(e) for e in events],
            "status": w.status.value,
            "creation_timestamp": w.creation_timestamp,
            "last_updated_timestamp": w.last_updated_timestamp,
        }
    )


def has_mlflow_events(w: Webhook) -> bool:
    """Whether MLflow's client can read ``w``: at least one of its events is MLflow's."""
    return any(e in MLFLOW_WEBHOOK_EVENTS for e in w.events)


def decode_webhook(d: dict[str, Any]) -> Webhook:
    return Webhook(
        webhook_id=d.get("webhook_id", ""),
        name=d.get("name", ""),
        url=d.get("url", ""),
        events=tuple(decode_webhook_event(e) for e in d.get("events") or ()),
        creation_timestamp=decode_int(d.get("creation_timestamp"), "creation_timestamp", 0) or 0,
        last_updated_timestamp=decode_int(d.get("last_updated_timestamp"), "last_updated_timestamp", 0) or 0,
        description=d.get("description") or None,
        status=WebhookStatus(d.get("status") or "ACTIVE"),
    )


def encode_delivery(x: WebhookDelivery) -> dict[str, Any]:
    return drop_empty(
        {
            "id": x.id,
            "webhook_id": x.webhook_id,
            "delivery_id": x.delivery_id,
            "event": x.event,
            "attempt": x.attempt,
            "timestamp": x.timestamp,
            "status": x.status.value,
            "model_name": x.model_name,
            "response_status": x.response_status,
            "error": x.error,
            "payload": x.payload,
        }
    )


def decode_delivery(d: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=decode_int(d.get("id"), "id", 0) or 0,
        webhook_id=d.get("webhook_id", ""),
        delivery_id=d.get("delivery_id", ""),
        event=d.get("event", ""),
        attempt=decode_int(d.get("attempt"), "attempt", 0) or 0,
        timestamp=decode_int(d.get("timestamp"), "timestamp", 0) or 0,
        status=DeliveryStatus(d.get("status") or "failed"),
        model_name=d.get("model_name"),
        response_status=decode_int(d.get("response_status"), "response_status"),
        error=d.get("error"),
        payload=d.get("payload", ""),
    )


def encode_test_result(r: TestResult) -> dict[str, Any]:
    """MLflow's ``WebhookTestResult``: ``success`` always, the status and error when known, plus Dockyard's
    ``duration_ms`` (MLflow's client ignores it). Never ``response_body``: the receiver's answer stays
    with the server."""
    return drop_empty(
        {
            "success": r.success,
            "response_status": r.response_status,
            "error_message": r.error_message,
            "duration_ms": r.duration_ms,
        }
    )


def decode_test_result(d: dict[str, Any]) -> TestResult:
    return TestResult(
        bool(d.get("success")),
        decode_int(d.get("response_status"), "response_status"),
        None,
        d.get("error_message"),
        decode_int(d.get("duration_ms"), "duration_ms"),
    )
