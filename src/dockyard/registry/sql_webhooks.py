"""Webhooks and their delivery log on SQLite or PostgreSQL (implements
:class:`~dockyard.registry.store.WebhookStore`). Inputs arrive validated by the service; secrets arrive
encrypted by it (:mod:`~dockyard.registry.webhook_secrets`) and are stored and returned as given."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dockyard.core.clock import now_ms
from dockyard.core.config import DEFAULT_DIR
from dockyard.core.errors import WebhookNotFound
from dockyard.core.paging import Page, next_offset_token, offset_from_token
from dockyard.db import Database
from dockyard.db import tables as t
from dockyard.db.engine import sqlite_path
from dockyard.registry.entities import DeliveryStatus, Webhook, WebhookDelivery, WebhookStatus

wh, wd = t.webhooks, t.webhook_deliveries


def _webhook(row: Any) -> Webhook:
    return Webhook(
        webhook_id=row.webhook_id,
        name=row.name,
        url=row.url,
        events=tuple(e for e in row.events.split(",") if e),
        creation_timestamp=row.creation_timestamp,
        last_updated_timestamp=row.last_updated_timestamp,
        description=row.description,
        status=WebhookStatus(row.status),
    )


def _delivery(row: Any) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        webhook_id=row.webhook_id,
        delivery_id=row.delivery_id,
        event=row.event,
        attempt=row.attempt,
        timestamp=row.timestamp,
        status=DeliveryStatus(row.status),
        model_name=row.model_name,
        response_status=row.response_status,
        error=row.error,
        payload=row.payload,
    )


class SqlWebhookStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _row(self, conn: sa.Connection, webhook_id: str) -> Any:
        row = conn.execute(sa.select(wh).where(wh.c.webhook_id == webhook_id)).first()
        if row is None:
            raise WebhookNotFound(f"Webhook with ID {webhook_id} not found")
        return row

    def create_webhook(
        self,
        name: str,
        url: str,
        events: list[str],
        description: str | None,
        secret: str | None,
        status: WebhookStatus,
    ) -> Webhook:
        now = now_ms()
        webhook_id = uuid.uuid4().hex
        with self.db.write() as conn:
            conn.execute(
                wh.insert().values(
                    webhook_id=webhook_id,
                    name=name,
                    description=description,
                    url=url,
                    secret=secret,
                    events=",".join(events),
                    status=status.value,
                    creation_timestamp=now,
                    last_updated_timestamp=now,
                )
            )
            return _webhook(self._row(conn, webhook_id))

    def get_webhook(self, webhook_id: str) -> Webhook:
        with self.db.read() as conn:
            return _webhook(self._row(conn, webhook_id))

    def list_webhooks(self, max_results: int, page_token: str | None) -> Page[Webhook]:
        offset = offset_from_token(page_token)
        query = sa.select(wh).order_by(wh.c.creation_timestamp, wh.c.webhook_id).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            found = conn.execute(query).all()
        items = [_webhook(r) for r in found[:max_results]]
        return Page(items, next_offset_token(offset, max_results, len(found) > max_results))

    def update_webhook(self, webhook_id: str, changes: dict[str, object]) -> Webhook:
        """``changes``: any of name, description, url, secret, events (a list), status."""
        values: dict[str, Any] = dict(changes)
        if "events" in values:
            values["events"] = ",".join(values["events"])
        if isinstance(values.get("status"), WebhookStatus):
            values["status"] = values["status"].value
        with self.db.write() as conn:
            self._row(conn, webhook_id)
            conn.execute(
                wh.update().where(wh.c.webhook_id == webhook_id).values(**values, last_updated_timestamp=now_ms())
            )
            return _webhook(self._row(conn, webhook_id))

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete the webhook and its delivery log."""
        with self.db.write() as conn:
            self._row(conn, webhook_id)
            conn.execute(wd.delete().where(wd.c.webhook_id == webhook_id))
            conn.execute(wh.delete().where(wh.c.webhook_id == webhook_id))

    def get_secret(self, webhook_id: str) -> str | None:
        with self.db.read() as conn:
            return self._row(conn, webhook_id).secret  # type: ignore[no-any-return]

    def data_folder(self) -> Path | None:
        """The SQLite file's folder; ``./.dockyard`` for PostgreSQL; None for an in-memory database."""
        if self.db.is_sqlite:
            path = sqlite_path(self.db.uri)
            return None if path is None else path.resolve().parent
        return Path.cwd() / DEFAULT_DIR

    def subscribers(self, event: str) -> list[tuple[Webhook, str | None]]:
        """Active webhooks subscribed to ``event``, each with its secret (as stored)."""
        with self.db.read() as conn:
            found = conn.execute(sa.select(wh).where(wh.c.status == WebhookStatus.ACTIVE.value)).all()
        return [(_webhook(r), r.secret) for r in found if event in r.events.split(",")]

    def record_attempt(self, attempt: WebhookDelivery) -> None:
        with self.db.write() as conn:
            conn.execute(
                wd.insert().values(
                    webhook_id=attempt.webhook_id,
                    delivery_id=attempt.delivery_id,
                    event=attempt.event,
                    model_name=attempt.model_name,
                    attempt=attempt.attempt,
                    timestamp=attempt.timestamp,
                    status=attempt.status.value,
                    response_status=attempt.response_status,
                    error=attempt.error,
                    payload=attempt.payload,
                )
            )

    def list_deliveries(
        self, webhook_id: str | None, max_results: int, page_token: str | None
    ) -> Page[WebhookDelivery]:
        """Delivery attempts, newest first; ``webhook_id`` keeps one webhook's."""
        offset = offset_from_token(page_token)
        query = sa.select(wd)
        with self.db.read() as conn:
            if webhook_id is not None:
                self._row(conn, webhook_id)
                query = query.where(wd.c.webhook_id == webhook_id)
            found = conn.execute(query.order_by(wd.c.id.desc()).offset(offset).limit(max_results + 1)).all()
        items = [_delivery(r) for r in found[:max_results]]
        return Page(items, next_offset_token(offset, max_results, len(found) > max_results))
