"""The registry store seam: what :class:`~dockyard.registry.service.RegistryService` needs from persistence.

Inputs arrive validated. A store checks what needs the database (existence, deletion, name clashes)
inside the write transaction, so a rejected call changes nothing; and every alias move or stage
transition writes its audit event in that same transaction and returns the events it wrote (the
service publishes them to webhooks after the commit). A gated move gets ``expected_holders``, the holders
its gate was checked against, and raises :class:`~dockyard.registry.gates.HolderChanged` in its transaction
when one is no longer the holder, so the check and the move are atomic. :class:`~dockyard.registry.sql_store.
SqlRegistryStore` implements it for SQLite and PostgreSQL, with its webhooks in ``webhooks``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from dockyard.core.paging import Page
from dockyard.core.search import Expr, OrderKey
from dockyard.registry.entities import (
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    Stage,
    Webhook,
    WebhookDelivery,
    WebhookStatus,
)
from dockyard.registry.gates import Gate, Holders, RuleResult, Validation


class WebhookStore(Protocol):
    def create_webhook(
        self,
        name: str,
        url: str,
        events: list[str],
        description: str | None,
        secret: str | None,
        status: WebhookStatus,
    ) -> Webhook: ...
    def get_webhook(self, webhook_id: str) -> Webhook: ...
    def list_webhooks(self, max_results: int, page_token: str | None) -> Page[Webhook]: ...
    def update_webhook(self, webhook_id: str, changes: dict[str, object]) -> Webhook: ...
    def delete_webhook(self, webhook_id: str) -> None: ...
    def get_secret(self, webhook_id: str) -> str | None: ...  # as stored: encrypted by the service
    def subscribers(self, event: str) -> list[tuple[Webhook, str | None]]: ...
    def data_folder(self) -> Path | None: ...  # where the key of the secrets lives (None: in memory)
    def record_attempt(self, attempt: WebhookDelivery) -> None: ...
    def list_deliveries(
        self, webhook_id: str | None, max_results: int, page_token: str | None
    ) -> Page[WebhookDelivery]: ...


class GateStore(Protocol):
    """Gates and validation records (:mod:`dockyard.registry.gates`); ``kind`` is "alias" or "stage"."""

    def set_gate(self, name: str, kind: str, target: str, rules: list[str], user_id: str) -> Gate: ...
    def get_gates(self, name: str) -> list[Gate]: ...
    def get_gate(self, name: str, kind: str, target: str) -> Gate | None: ...
    def delete_gate(self, name: str, kind: str, target: str) -> None: ...
    def add_validation(
        self,
        name: str,
        version: int,
        results: list[RuleResult],
        baseline_version: int | None,
        data_digest: str | None,
        metrics: dict[str, float],
        report_uri: str | None,
        user_id: str,
    ) -> Validation: ...
    def list_validations(self, name: str, version: int | None, max_results: int) -> list[Validation]: ...


class RegistryStore(Protocol):
    @property
    def webhooks(self) -> WebhookStore: ...
    @property
    def gates(self) -> GateStore: ...

    # registered models
    def create_registered_model(self, name: str, tags: dict[str, str], description: str | None) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...
    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel: ...
    def delete_registered_model(self, name: str) -> None: ...
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...
    def search_registered_models(
        self, filter_expr: Expr | None, max_results: int, order_by: list[OrderKey], page_token: str | None
    ) -> Page[RegisteredModel]: ...
    def get_latest_versions(self, name: str, stages: list[Stage]) -> list[ModelVersion]: ...

    # versions
    def create_model_version(
        self,
        name: str,
        source: str,
        storage_location: str | None,
        run_id: str | None,
        tags: dict[str, str],
        run_link: str | None,
        description: str | None,
        user_id: str | None,
        model_id: str | None,
    ) -> ModelVersion: ...
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...
    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion: ...
    def delete_model_version(self, name: str, version: int, user_id: str) -> list[RegistryEvent]: ...
    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None: ...
    def delete_model_version_tag(self, name: str, version: int, key: str) -> None: ...
    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: Stage,
        archive_existing_versions: bool,
        user_id: str,
        reason: str | None,
        expected_holders: Holders | None = None,
    ) -> tuple[ModelVersion, list[RegistryEvent]]: ...
    def search_model_versions(
        self, filter_expr: Expr | None, max_results: int, order_by: list[OrderKey], page_token: str | None
    ) -> Page[ModelVersion]: ...
    def get_model_version_download_uri(self, name: str, version: int) -> str: ...

    # aliases and their history
    def set_registered_model_alias(
        self,
        name: str,
        alias: str,
        version: int,
        user_id: str,
        reason: str | None,
        expected_holders: Holders | None = None,
    ) -> list[RegistryEvent]: ...
    def delete_registered_model_alias(
        self, name: str, alias: str, user_id: str, reason: str | None
    ) -> list[RegistryEvent]: ...
    def promote(
        self,
        name: str,
        version: int,
        alias: str | None,
        stage: Stage | None,
        archive_existing_versions: bool,
        user_id: str,
        reason: str | None,
        expected_holders: Holders | None = None,
    ) -> tuple[ModelVersion, list[RegistryEvent]]: ...
    def rollback(
        self, name: str, alias: str, user_id: str, reason: str | None
    ) -> tuple[ModelVersion, list[RegistryEvent]]: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def get_registry_events(
        self, name: str, alias: str | None, max_results: int, page_token: str | None, newest_first: bool
    ) -> Page[RegistryEvent]: ...
