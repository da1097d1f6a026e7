"""The registry interface: what the local :class:`~dockyard.registry.service.RegistryService` and the remote
:class:`~dockyard.registry.remote.RemoteRegistryService` both offer, checked structurally by mypy (no casts) and
behaviourally by the contract suite in ``tests/registry/contract.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from dockyard.core.paging import Page
from dockyard.registry.entities import (
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    Stage,
    Webhook,
    WebhookDelivery,
)
from dockyard.registry.gates import Gate, GateCheck, RuleResult, Validation
from dockyard.registry.lineage import Lineage
from dockyard.registry.webhooks import TestResult


class RegistryAPI(Protocol):
    """Registered models, versions, aliases and stages, audit events, promotion, lineage and webhooks."""

    def close(self) -> None:
        """Let queued webhook deliveries finish (up to the dispatcher's ``drain_seconds``)."""
        ...

    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel: ...

    def get_registered_model(self, name: str) -> RegisteredModel: ...

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel: ...

    def delete_registered_model(self, name: str) -> None: ...

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None: ...

    def delete_registered_model_tag(self, name: str, key: str) -> None: ...

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]: ...

    def get_latest_versions(self, name: str, stages: Sequence[str | Stage] | None = None) -> list[ModelVersion]:
        """The highest version in each of ``stages`` (every stage when None or empty)."""
        ...

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
        """A new version (status READY) numbered one past the model's highest, deleted ones included."""
        ...

    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion: ...

    def delete_model_version(self, name: str, version: int | str, user_id: str | None = None) -> None:
        """Soft delete; the aliases on the version are removed, each with an audit event."""
        ...

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None: ...

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None: ...

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str | Stage,
        archive_existing_versions: bool = False,
        reason: str | None = None,
        user_id: str | None = None,
    ) -> ModelVersion:
        """Move a version to a stage; ``archive_existing_versions`` (Staging and Production only) moves the versions
        already there to Archived. Each change is an audit event."""
        ...

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]: ...

    def get_model_version_download_uri(self, name: str, version: int | str) -> str: ...

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, reason: str | None = None, user_id: str | None = None
    ) -> None:
        """Point ``alias`` at ``version`` (moving it from where it was), recording who, when and why."""
        ...

    def delete_registered_model_alias(
        self, name: str, alias: str, reason: str | None = None, user_id: str | None = None
    ) -> None: ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points to; ``latest`` (any case) is the highest live version."""
        ...

    def get_registry_events(
        self,
        name: str,
        alias: str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> Page[RegistryEvent]:
        """The model's audit history (alias moves and stage transitions), oldest first unless ``newest_first``;
        ``alias`` keeps only that alias's events. It follows renames."""
        ...

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
        """Point ``alias`` at ``version`` and/or move it to ``stage``, in one transaction; a version that is deleted or
        whose status is not READY is refused with nothing changed, and so is one a gate refuses unless ``force`` (with
        a ``reason``, recorded in the audit history)."""
        ...

    def rollback(self, name: str, alias: str, reason: str | None = None, user_id: str | None = None) -> ModelVersion:
        """Point ``alias`` back at the version that held it before its newest move not yet rolled back; returns that
        version. :class:`~dockyard.core.errors.NothingToRollBack` when there is none."""
        ...

    def get_model_version_lineage(self, name: str, version: int | str) -> Lineage:
        """The version's logged model, run, datasets, git commit and parent runs (see registry.lineage)."""
        ...

    def set_gate(
        self,
        name: str,
        rules: Sequence[str],
        alias: str | None = None,
        stage: str | Stage | None = None,
        user_id: str | None = None,
    ) -> Gate:
        """Require ``rules`` of every version that ``alias`` (or ``stage``) moves to; replaces its gate."""
        ...

    def get_gates(self, name: str) -> list[Gate]: ...

    def delete_gate(self, name: str, alias: str | None = None, stage: str | Stage | None = None) -> None: ...

    def check_gate(
        self, name: str, version: int | str, alias: str | None = None, stage: str | Stage | None = None
    ) -> GateCheck:
        """Whether ``version`` may take ``alias`` (or ``stage``) now, without moving anything."""
        ...

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
        """Record a validation of ``version``; each rule's outcome is recomputed from its values."""
        ...

    def list_validations(self, name: str, version: int | str | None = None, max_results: int = 100) -> list[Validation]:
        """Validations of the model (of one version when given), newest first."""
        ...

    def report_drift(
        self,
        name: str,
        version: int | str,
        drifted: Sequence[str] = (),
        failed_rules: Sequence[str] = (),
        metrics: dict[str, float] | None = None,
        run_id: str | None = None,
    ) -> None:
        """Tell the webhooks that monitoring found drift or failed rules on a version
        (``model_version.drift_detected``)."""
        ...

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        secret: str | None = None,
        status: str = "ACTIVE",
    ) -> Webhook: ...

    def get_webhook(self, webhook_id: str) -> Webhook: ...

    def list_webhooks(self, max_results: int = 100, page_token: str | None = None) -> Page[Webhook]: ...

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
        """Change the fields given (None: unchanged)."""
        ...

    def delete_webhook(self, webhook_id: str) -> None: ...

    def test_webhook(self, webhook_id: str, event: str | None = None) -> TestResult:
        """Send one sample ``event`` (default: the webhook's first) now, without retries."""
        ...

    def list_webhook_deliveries(
        self, webhook_id: str | None = None, max_results: int = 100, page_token: str | None = None
    ) -> Page[WebhookDelivery]:
        """Delivery attempts, newest first (one webhook's when ``webhook_id`` is given)."""
        ...
