"""Registry entities: frozen dataclasses, no I/O, no third-party imports.

A version number is an ``int`` here and a string only on the wire (MLflow's ``ModelVersion.version``).

>>> Stage.parse("production") is Stage.PRODUCTION
True
>>> mv = ModelVersion("churn", 3, 1, 1, current_stage=Stage.STAGING, source="runs:/abc/model")
>>> (mv.name, mv.version, str(mv.current_stage))
('churn', 3, 'Staging')
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Stage(enum.StrEnum):
    """MLflow's model version stages (deprecated upstream in favour of aliases, still used by clients)."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def parse(cls, value: str | Stage) -> Stage:
        """Case-insensitive, canonicalised: ``"staging"`` -> ``Stage.STAGING``; ValueError otherwise."""
        if isinstance(value, Stage):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if member.value.lower() == text:
                return member
        allowed = ", ".join(m.value for m in cls)
        raise ValueError(f"stage {value!r} is not one of {allowed}")

    @property
    def is_active(self) -> bool:
        """Staging and Production: the stages ``archive_existing_versions`` may be used with."""
        return self in (Stage.STAGING, Stage.PRODUCTION)


class ModelVersionStatus(enum.StrEnum):
    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


class RegistryEventKind(enum.StrEnum):
    ALIAS_SET = "alias_set"
    ALIAS_DELETED = "alias_deleted"
    STAGE_TRANSITION = "stage_transition"


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int  # milliseconds since the epoch
    last_updated_timestamp: int
    description: str | None = None
    user_id: str | None = None
    current_stage: Stage = Stage.NONE
    source: str = ""
    run_id: str | None = None
    run_link: str | None = None
    status: ModelVersionStatus = ModelVersionStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    model_id: str | None = None  # the MLflow 3 logged model (m-<hex>) this version registers


@dataclass(frozen=True, slots=True)
class RegisteredModelAlias:
    alias: str
    version: int


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    # The highest version in each stage (MLflow's ``latest_versions``), by version number.
    latest_versions: tuple[ModelVersion, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)  # alias -> version

    @property
    def alias_list(self) -> list[RegisteredModelAlias]:
        return [RegisteredModelAlias(a, v) for a, v in self.aliases.items()]


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """One entry of the audit history: an alias moved or removed, or a version changed stage.

    ``alias_set``: ``alias`` moved from ``from_version`` (None: it was new) to ``to_version``.
    ``alias_deleted``: ``alias`` was removed from ``from_version`` (explicitly, or because that version
    was deleted; ``to_version`` is None). ``stage_transition``: version ``to_version`` went from
    ``from_stage`` to ``stage``; ``from_version`` is the highest version that held ``stage`` before.
    """

    event_id: int
    timestamp: int
    user_id: str
    name: str  # the registered model's name when the event happened
    kind: RegistryEventKind
    alias: str | None = None
    stage: Stage | None = None
    from_stage: Stage | None = None
    from_version: int | None = None
    to_version: int | None = None
    reason: str | None = None
    undoes_event_id: int | None = None

    @property
    def is_rollback(self) -> bool:
        return self.undoes_event_id is not None


# Webhook event name -> what it means. MLflow's names (3.3+), plus model_version.stage_changed.
WEBHOOK_EVENTS: dict[str, str] = {
    "registered_model.created": "a registered model was created",
    "model_version.created": "a model version was created",
    "model_version_tag.set": "a model version tag was set",
    "model_version_tag.deleted": "a model version tag was deleted",
    "model_version_alias.created": "an alias was set or moved (promote and rollback included)",
    "model_version_alias.deleted": "an alias was removed (explicitly, or with its version)",
    "model_version.stage_changed": "a model version changed stage (Dockyard's own event)",
    "model_version.drift_detected": "monitoring found drift or a failed rule on a served version (Dockyard's own)",
}


class WebhookStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True)
class Webhook:
    """A URL that receives registry events (``model_version.created``...) as signed JSON POSTs.

    The secret that signs them is write-only: it is stored but never returned.
    """

    webhook_id: str
    name: str
    url: str
    events: tuple[str, ...]
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    status: WebhookStatus = WebhookStatus.ACTIVE


class DeliveryStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"  # this attempt failed; another one is scheduled
    FAILED = "failed"  # this attempt failed and was the last


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One attempt to deliver one event to one webhook; retries share the ``delivery_id``."""

    id: int
    webhook_id: str
    delivery_id: str
    event: str
    attempt: int
    timestamp: int
    status: DeliveryStatus
    model_name: str | None = None
    response_status: int | None = None
    error: str | None = None
    payload: str = ""
