"""Rows to registry entities, and the look-ups every write starts with. Functions take an open
connection; :class:`~dockyard.registry.sql_store.SqlRegistryStore` owns the transactions.

Entities are loaded in batches: one query per table for a whole page, never a join that multiplies
rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from dockyard.core.clock import now_ms
from dockyard.core.errors import ModelVersionNotFound, RegisteredModelNotFound
from dockyard.db import tables as t
from dockyard.db.search import chunks
from dockyard.registry.entities import (
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    Stage,
)

rm = t.registered_models
mv = t.model_versions


def model_row(conn: sa.Connection, name: str, *, lock: bool = False) -> Any:
    """The registered model's row; ``lock`` takes its row lock (PostgreSQL ``FOR UPDATE``), so writes
    to one model's versions, aliases and stages run one at a time and read what the last one wrote.
    (SQLite needs no row lock: its write transactions already run one at a time.)"""
    query = sa.select(rm).where(rm.c.name == name)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise RegisteredModelNotFound(f"Registered Model with name={name} not found")
    return row


def version_row(conn: sa.Connection, model_id: int, name: str, version: int) -> Any:
    """A live (not deleted) version's row."""
    row = conn.execute(sa.select(mv).where(mv.c.registered_model_id == model_id, mv.c.version == version)).first()
    if row is None:
        raise ModelVersionNotFound(f"Model Version (name={name}, version={version}) not found")
    if row.deleted_timestamp is not None:
        raise ModelVersionNotFound(f"Model Version (name={name}, version={version}) not found: it was deleted")
    return row


def touch_model(conn: sa.Connection, model_id: int, when: int | None = None) -> None:
    conn.execute(rm.update().where(rm.c.id == model_id).values(last_updated_timestamp=when or now_ms()))


def load_versions(conn: sa.Connection, rows: Sequence[Any], names: dict[int, str]) -> list[ModelVersion]:
    """Version entities, with tags and aliases, for rows of ``model_versions``."""
    by_model: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        by_model[r.registered_model_id].append(r.version)
    tags: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
    aliases: dict[tuple[int, int], list[str]] = defaultdict(list)
    mvt, rma = t.model_version_tags, t.registered_model_aliases
    for model_id, versions in by_model.items():
        # Only the versions asked for: a model may have thousands, a page holds a few.
        for chunk in chunks(versions):
            query = sa.select(mvt).where(mvt.c.registered_model_id == model_id, mvt.c.version.in_(chunk))
            for row in conn.execute(query):
                tags[(model_id, row.version)][row.key] = row.value
    for chunk in chunks(sorted(by_model)):
        query = sa.select(rma).where(rma.c.registered_model_id.in_(chunk)).order_by(rma.c.alias)
        for row in conn.execute(query):
            aliases[(row.registered_model_id, row.version)].append(row.alias)
    return [
        ModelVersion(
            name=names[r.registered_model_id],
            version=r.version,
            creation_timestamp=r.creation_timestamp,
            last_updated_timestamp=r.last_updated_timestamp,
            description=r.description,
            user_id=r.user_id,
            current_stage=Stage(r.current_stage),
            source=r.source,
            run_id=r.run_id,
            run_link=r.run_link,
            status=ModelVersionStatus(r.status),
            status_message=r.status_message,
            tags=tags.get((r.registered_model_id, r.version), {}),
            aliases=tuple(aliases.get((r.registered_model_id, r.version), ())),
            model_id=r.logged_model_id,
        )
        for r in rows
    ]


def latest_version_rows(conn: sa.Connection, model_ids: Sequence[int]) -> list[Any]:
    """The highest live version in each stage of each model."""
    if not model_ids:
        return []
    top = (
        sa.select(mv.c.registered_model_id, mv.c.current_stage, sa.func.max(mv.c.version).label("version"))
        .where(mv.c.registered_model_id.in_(list(model_ids)), mv.c.deleted_timestamp.is_(None))
        .group_by(mv.c.registered_model_id, mv.c.current_stage)
        .subquery()
    )
    query = (
        sa.select(mv)
        .join(top, sa.and_(mv.c.registered_model_id == top.c.registered_model_id, mv.c.version == top.c.version))
        .order_by(mv.c.registered_model_id, mv.c.version)
    )
    return list(conn.execute(query).all())


def load_models(conn: sa.Connection, rows: Sequence[Any]) -> list[RegisteredModel]:
    """Registered model entities, with tags, aliases and the latest version of each stage."""
    ids = [r.id for r in rows]
    names = {r.id: r.name for r in rows}
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    aliases: dict[int, dict[str, int]] = defaultdict(dict)
    latest: dict[int, list[ModelVersion]] = defaultdict(list)
    rmt, rma = t.registered_model_tags, t.registered_model_aliases
    for chunk in chunks(ids):
        for row in conn.execute(sa.select(rmt).where(rmt.c.registered_model_id.in_(chunk))):
            tags[row.registered_model_id][row.key] = row.value
        for row in conn.execute(sa.select(rma).where(rma.c.registered_model_id.in_(chunk)).order_by(rma.c.alias)):
            aliases[row.registered_model_id][row.alias] = row.version
        version_rows = latest_version_rows(conn, chunk)
        for row, version in zip(version_rows, load_versions(conn, version_rows, names), strict=True):
            latest[row.registered_model_id].append(version)
    return [
        RegisteredModel(
            name=r.name,
            creation_timestamp=r.creation_timestamp,
            last_updated_timestamp=r.last_updated_timestamp,
            description=r.description,
            latest_versions=tuple(latest.get(r.id, ())),
            tags=tags.get(r.id, {}),
            aliases=aliases.get(r.id, {}),
        )
        for r in rows
    ]


def write_event(
    conn: sa.Connection,
    model: Any,
    kind: RegistryEventKind,
    user_id: str,
    *,
    alias: str | None = None,
    stage: Stage | None = None,
    from_stage: Stage | None = None,
    from_version: int | None = None,
    to_version: int | None = None,
    reason: str | None = None,
    when: int | None = None,
    undoes_event_id: int | None = None,
) -> RegistryEvent:
    """Record one audit event; returns it (what the service publishes to webhooks after the commit)."""
    values = {
        "registered_model_id": model.id,
        "model_name": model.name,
        "timestamp": when or now_ms(),
        "user_id": user_id,
        "kind": kind.value,
        "alias": alias,
        "stage": None if stage is None else stage.value,
        "from_stage": None if from_stage is None else from_stage.value,
        "from_version": from_version,
        "to_version": to_version,
        "reason": reason,
        "undoes_event_id": undoes_event_id,
    }
    event_id = conn.execute(t.registry_events.insert().values(**values).returning(t.registry_events.c.id)).scalar_one()
    return load_event(_Values(id=event_id, **values))


class _Values(dict[str, Any]):
    """Column values read as attributes, so :func:`load_event` builds an event from what was inserted."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


def load_event(row: Any) -> RegistryEvent:
    return RegistryEvent(
        event_id=row.id,
        timestamp=row.timestamp,
        user_id=row.user_id,
        name=row.model_name,
        kind=RegistryEventKind(row.kind),
        alias=row.alias,
        stage=None if row.stage is None else Stage(row.stage),
        from_stage=None if row.from_stage is None else Stage(row.from_stage),
        from_version=row.from_version,
        to_version=row.to_version,
        reason=row.reason,
        undoes_event_id=row.undoes_event_id,
    )
