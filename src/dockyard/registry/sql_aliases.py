"""Alias moves, stage transitions, promotion and rollback inside one write transaction.

Functions take an open connection and the registered model's row, already locked by the caller
(:class:`~dockyard.registry.sql_store.SqlRegistryStore`), and return the audit events they wrote, so the
service can publish them once the transaction has committed.

Rollback walks the alias's history newest first. Every alias move (``alias_set``, ``alias_deleted``)
is a step on a stack; a rollback pops the newest step that no rollback has undone yet, points the alias
at that step's ``from_version``, and records an ``alias_set`` whose ``undoes_event_id`` names the step.
So two rollbacks after moves 1 -> 2 -> 3 give 2 then 1, never 3 -> 2 -> 3, and a move made after a
rollback is undone first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from dockyard.core.errors import ModelVersionNotReady, NothingToRollBack
from dockyard.db import tables as t
from dockyard.registry import gates
from dockyard.registry import sql_rows as rows
from dockyard.registry.entities import ModelVersionStatus, RegistryEvent, RegistryEventKind, Stage

mv, rma, ev = t.model_versions, t.registered_model_aliases, t.registry_events


def holder(conn: sa.Connection, model: Any, alias: str) -> int | None:
    """The version ``alias`` points to now (None: unset)."""
    return conn.execute(
        sa.select(rma.c.version).where(rma.c.registered_model_id == model.id, rma.c.alias == alias)
    ).scalar()


def stage_holder(conn: sa.Connection, model: Any, stage: str) -> int | None:
    """The highest live version in ``stage`` (None: none), as the service's gate check reads it."""
    return conn.execute(
        sa.select(sa.func.max(mv.c.version)).where(
            mv.c.registered_model_id == model.id, mv.c.current_stage == stage, mv.c.deleted_timestamp.is_(None)
        )
    ).scalar()


def check_holders(conn: sa.Connection, model: Any, expected: Mapping[tuple[str, str], int | None] | None) -> None:
    """The compare-and-set of a gated move: raise :class:`~dockyard.registry.gates.HolderChanged` when a target
    is not held by the version its gate was checked against. Call it with the model's row locked."""
    for (kind, target), was in (expected or {}).items():
        now = holder(conn, model, target) if kind == gates.ALIAS else stage_holder(conn, model, target)
        if now != was:
            label = f"{kind} {target!r}"
            raise gates.HolderChanged(
                f"{label} of model {model.name!r} moved from {_held(was)} to {_held(now)} while its gate was "
                "checked; check the gate again (validate against the new holder if a rule compares with the "
                "baseline)"
            )


def _held(version: int | None) -> str:
    return "no version" if version is None else f"version {version}"


def _point(conn: sa.Connection, model: Any, alias: str, version: int, exists: bool) -> None:
    if exists:
        conn.execute(
            rma.update().where(rma.c.registered_model_id == model.id, rma.c.alias == alias).values(version=version)
        )
    else:
        conn.execute(rma.insert().values(registered_model_id=model.id, alias=alias, version=version))


def set_alias(
    conn: sa.Connection,
    model: Any,
    alias: str,
    version: int,
    user_id: str,
    reason: str | None,
    *,
    when: int | None = None,
    undoes_event_id: int | None = None,
) -> RegistryEvent | None:
    """Point ``alias`` at a live ``version``; a move to where it already points records nothing."""
    rows.version_row(conn, model.id, model.name, version)
    previous = holder(conn, model, alias)
    if previous == version:
        return None
    _point(conn, model, alias, version, previous is not None)
    return rows.write_event(
        conn,
        model,
        RegistryEventKind.ALIAS_SET,
        user_id,
        alias=alias,
        from_version=previous,
        to_version=version,
        reason=reason,
        when=when,
        undoes_event_id=undoes_event_id,
    )


def delete_alias(conn: sa.Connection, model: Any, alias: str, user_id: str, reason: str | None) -> RegistryEvent | None:
    previous = holder(conn, model, alias)
    if previous is None:
        return None
    conn.execute(rma.delete().where(rma.c.registered_model_id == model.id, rma.c.alias == alias))
    return rows.write_event(
        conn, model, RegistryEventKind.ALIAS_DELETED, user_id, alias=alias, from_version=previous, reason=reason
    )


def transition(
    conn: sa.Connection,
    model: Any,
    version: int,
    stage: Stage,
    archive_existing_versions: bool,
    user_id: str,
    reason: str | None,
    when: int,
) -> list[RegistryEvent]:
    """Move ``version`` to ``stage`` (archiving the others there first if asked); one event per change."""
    current = rows.version_row(conn, model.id, model.name, version)
    live_others = sa.and_(
        mv.c.registered_model_id == model.id, mv.c.version != version, mv.c.deleted_timestamp.is_(None)
    )
    in_stage = sa.and_(live_others, mv.c.current_stage == stage.value)
    previous = conn.execute(sa.select(sa.func.max(mv.c.version)).where(in_stage)).scalar()
    events = []
    if archive_existing_versions:
        for other in list(conn.execute(sa.select(mv.c.version).where(in_stage).order_by(mv.c.version)).scalars()):
            events.append(
                rows.write_event(
                    conn,
                    model,
                    RegistryEventKind.STAGE_TRANSITION,
                    user_id,
                    stage=Stage.ARCHIVED,
                    from_stage=stage,
                    to_version=other,
                    reason=f"archived: version {version} moved to {stage.value}",
                    when=when,
                )
            )
        conn.execute(
            mv.update().where(in_stage).values(current_stage=Stage.ARCHIVED.value, last_updated_timestamp=when)
        )
    conn.execute(
        mv.update()
        .where(mv.c.registered_model_id == model.id, mv.c.version == version)
        .values(current_stage=stage.value, last_updated_timestamp=when)
    )
    events.append(
        rows.write_event(
            conn,
            model,
            RegistryEventKind.STAGE_TRANSITION,
            user_id,
            stage=stage,
            from_stage=Stage(current.current_stage),
            from_version=previous,
            to_version=version,
            reason=reason,
            when=when,
        )
    )
    return events


def check_promotable(conn: sa.Connection, model: Any, version: int) -> None:
    """A live version whose status is READY; anything else is refused before a change is made."""
    row = rows.version_row(conn, model.id, model.name, version)
    if row.status != ModelVersionStatus.READY.value:
        detail = f": {row.status_message}" if row.status_message else ""
        raise ModelVersionNotReady(
            f"Model Version (name={model.name}, version={version}) has status {row.status}, not READY{detail}; "
            "only READY versions can be promoted"
        )


def rollback_step(conn: sa.Connection, model: Any, alias: str) -> tuple[int, int]:
    """(the event to undo, the version to restore): the newest alias move no rollback has undone yet."""
    query = (
        sa.select(ev.c.id, ev.c.from_version, ev.c.undoes_event_id)
        .where(
            ev.c.registered_model_id == model.id,
            ev.c.alias == alias,
            ev.c.kind.in_([RegistryEventKind.ALIAS_SET.value, RegistryEventKind.ALIAS_DELETED.value]),
        )
        .order_by(ev.c.id.desc())
    )
    undone: set[int] = set()
    for row in conn.execute(query):
        if row.undoes_event_id is not None:  # a rollback: it is not a step, and its step is gone
            undone.add(row.undoes_event_id)
            continue
        if row.id in undone:
            continue
        if row.from_version is None:
            break  # the alias was created here: there is nothing before it
        restore = conn.execute(
            sa.select(mv.c.deleted_timestamp).where(
                mv.c.registered_model_id == model.id, mv.c.version == row.from_version
            )
        ).first()
        if restore is None or restore.deleted_timestamp is not None:
            raise NothingToRollBack(
                f"alias {alias!r} of model {model.name!r} was held before by version {row.from_version}, which was "
                "deleted; promote a version explicitly instead"
            )
        return int(row.id), int(row.from_version)
    raise NothingToRollBack(
        f"alias {alias!r} of model {model.name!r} has no earlier version to roll back to (see `dockyard models "
        "history`)"
    )
