"""The registry store on SQLite or PostgreSQL (SQLAlchemy Core).

Every public method is one transaction. Writes that touch a model's versions, aliases or stages first
lock the model's row (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serializes
writers), then read the state they change: so two concurrent alias moves are ordered, and the second
one's audit event names the version the first one moved the alias to. A gated move re-reads the holders
its gate was checked against in that same transaction (``expected_holders``) and is refused if one changed.
A version number is ``max(version) + 1`` over every row of the model, deleted versions included, so numbers
never repeat.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from dockyard.core.clock import now_ms
from dockyard.core.errors import AliasNotFound, RegisteredModelAlreadyExists
from dockyard.core.paging import Page, next_offset_token, offset_from_token
from dockyard.core.search import Expr, OrderKey
from dockyard.db import Database, ensure_schema
from dockyard.db import tables as t
from dockyard.registry import sql_aliases as aliases
from dockyard.registry import sql_rows as rows
from dockyard.registry import sql_search
from dockyard.registry.entities import (
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    Stage,
)
from dockyard.registry.gates import Holders
from dockyard.registry.sql_gates import SqlGateStore
from dockyard.registry.sql_webhooks import SqlWebhookStore

rm, rmt, mv, mvt, rma = (
    t.registered_models,
    t.registered_model_tags,
    t.model_versions,
    t.model_version_tags,
    t.registered_model_aliases,
)


class SqlRegistryStore:
    """Implements :class:`~dockyard.registry.store.RegistryStore` on a :class:`~dockyard.db.Database`
    (the tracking store's database when both live in one place)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        ensure_schema(db)
        self.webhooks = SqlWebhookStore(db)
        self.gates = SqlGateStore(db)

    def _upsert_pair(
        self, conn: sa.Connection, table: sa.Table, keys: dict[str, Any], value_column: str, value: Any
    ) -> None:
        stmt = self.db.upsert(table).values(**keys, **{value_column: value})
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_={value_column: value}))

    # ------------------------------------------------------------------ registered models

    def create_registered_model(self, name: str, tags: dict[str, str], description: str | None) -> RegisteredModel:
        now = now_ms()
        try:
            with self.db.write() as conn:
                if conn.execute(sa.select(rm.c.id).where(rm.c.name == name)).first() is not None:
                    raise RegisteredModelAlreadyExists(f"Registered Model (name={name}) already exists.")
                model_id = conn.execute(
                    rm.insert()
                    .values(name=name, creation_timestamp=now, last_updated_timestamp=now, description=description)
                    .returning(rm.c.id)
                ).scalar_one()
                if tags:
                    conn.execute(
                        rmt.insert(), [{"registered_model_id": model_id, "key": k, "value": v} for k, v in tags.items()]
                    )
                return rows.load_models(conn, [rows.model_row(conn, name)])[0]
        except sa.exc.IntegrityError:  # another writer created it between our check and insert
            raise RegisteredModelAlreadyExists(f"Registered Model (name={name}) already exists.") from None

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            return rows.load_models(conn, [rows.model_row(conn, name)])[0]

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        now = now_ms()
        try:
            with self.db.write() as conn:
                model = rows.model_row(conn, name, lock=True)
                if new_name != name:
                    if conn.execute(sa.select(rm.c.id).where(rm.c.name == new_name)).first() is not None:
                        raise RegisteredModelAlreadyExists(f"Registered Model (name={new_name}) already exists.")
                    conn.execute(rm.update().where(rm.c.id == model.id).values(name=new_name))
                    conn.execute(
                        mv.update().where(mv.c.registered_model_id == model.id).values(last_updated_timestamp=now)
                    )
                rows.touch_model(conn, model.id, now)
                return rows.load_models(conn, [rows.model_row(conn, new_name)])[0]
        except sa.exc.IntegrityError:
            raise RegisteredModelAlreadyExists(f"Registered Model (name={new_name}) already exists.") from None

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            conn.execute(
                rm.update().where(rm.c.id == model.id).values(description=description, last_updated_timestamp=now_ms())
            )
            return rows.load_models(conn, [rows.model_row(conn, name)])[0]

    def delete_registered_model(self, name: str) -> None:
        """Delete the model with its versions, tags and aliases (the audit history stays)."""
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            # Children first: SQLite enforces the cascades only with foreign_keys on; be explicit.
            for table in (t.model_validations, t.model_gates, rma, mvt, mv, rmt):
                conn.execute(table.delete().where(table.c.registered_model_id == model.id))
            conn.execute(rm.delete().where(rm.c.id == model.id))

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        with self.db.write() as conn:
            model = rows.model_row(conn, name)
            self._upsert_pair(conn, rmt, {"registered_model_id": model.id, "key": key}, "value", value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Deleting a tag that is not set does nothing (as MLflow); the model must exist."""
        with self.db.write() as conn:
            model = rows.model_row(conn, name)
            conn.execute(rmt.delete().where(rmt.c.registered_model_id == model.id, rmt.c.key == key))

    def search_registered_models(
        self, filter_expr: Expr | None, max_results: int, order_by: list[OrderKey], page_token: str | None
    ) -> Page[RegisteredModel]:
        offset = offset_from_token(page_token)
        query = (
            sa.select(rm)
            .where(sql_search.model_filter(filter_expr))
            .order_by(*sql_search.model_ordering(order_by))
            .offset(offset)
            .limit(max_results + 1)
        )
        with self.db.read() as conn:
            found = conn.execute(query).all()
            models = rows.load_models(conn, found[:max_results])
        return Page(models, next_offset_token(offset, max_results, len(found) > max_results))

    def get_latest_versions(self, name: str, stages: list[Stage]) -> list[ModelVersion]:
        with self.db.read() as conn:
            model = rows.model_row(conn, name)
            latest = rows.load_versions(conn, rows.latest_version_rows(conn, [model.id]), {model.id: model.name})
        wanted = set(stages) or set(Stage)
        return [v for v in latest if v.current_stage in wanted]

    # ------------------------------------------------------------------ versions

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
    ) -> ModelVersion:
        now = now_ms()
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            highest = conn.execute(
                sa.select(sa.func.max(mv.c.version)).where(mv.c.registered_model_id == model.id)
            ).scalar()
            version = (highest or 0) + 1
            conn.execute(
                mv.insert().values(
                    registered_model_id=model.id,
                    version=version,
                    creation_timestamp=now,
                    last_updated_timestamp=now,
                    description=description,
                    user_id=user_id,
                    current_stage=Stage.NONE.value,
                    source=source,
                    storage_location=storage_location,
                    run_id=run_id,
                    run_link=run_link,
                    logged_model_id=model_id,
                    status=ModelVersionStatus.READY.value,
                )
            )
            if tags:
                conn.execute(
                    mvt.insert(),
                    [
                        {"registered_model_id": model.id, "version": version, "key": k, "value": v}
                        for k, v in tags.items()
                    ],
                )
            rows.touch_model(conn, model.id, now)
            return self._version(conn, model, version)

    def _version(self, conn: sa.Connection, model: Any, version: int) -> ModelVersion:
        return rows.load_versions(
            conn, [rows.version_row(conn, model.id, model.name, version)], {model.id: model.name}
        )[0]

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        with self.db.read() as conn:
            return self._version(conn, rows.model_row(conn, name), version)

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            rows.version_row(conn, model.id, name, version)
            conn.execute(
                mv.update()
                .where(mv.c.registered_model_id == model.id, mv.c.version == version)
                .values(description=description, last_updated_timestamp=now_ms())
            )
            return self._version(conn, model, version)

    def delete_model_version(self, name: str, version: int, user_id: str) -> list[RegistryEvent]:
        """Soft delete: the row stays (its number is never reused); its aliases go, each with an event."""
        now = now_ms()
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            rows.version_row(conn, model.id, name, version)
            held = conn.execute(
                sa.select(rma.c.alias)
                .where(rma.c.registered_model_id == model.id, rma.c.version == version)
                .order_by(rma.c.alias)
            ).scalars()
            events = [
                rows.write_event(
                    conn,
                    model,
                    RegistryEventKind.ALIAS_DELETED,
                    user_id,
                    alias=alias,
                    from_version=version,
                    reason=f"version {version} was deleted",
                    when=now,
                )
                for alias in list(held)
            ]
            conn.execute(rma.delete().where(rma.c.registered_model_id == model.id, rma.c.version == version))
            conn.execute(
                mv.update()
                .where(mv.c.registered_model_id == model.id, mv.c.version == version)
                .values(deleted_timestamp=now, last_updated_timestamp=now)
            )
            rows.touch_model(conn, model.id, now)
            return events

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        with self.db.write() as conn:
            model = rows.model_row(conn, name)
            rows.version_row(conn, model.id, name, version)
            keys = {"registered_model_id": model.id, "version": version, "key": key}
            self._upsert_pair(conn, mvt, keys, "value", value)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        with self.db.write() as conn:
            model = rows.model_row(conn, name)
            rows.version_row(conn, model.id, name, version)
            conn.execute(
                mvt.delete().where(mvt.c.registered_model_id == model.id, mvt.c.version == version, mvt.c.key == key)
            )

    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: Stage,
        archive_existing_versions: bool,
        user_id: str,
        reason: str | None,
        expected_holders: Holders | None = None,
    ) -> tuple[ModelVersion, list[RegistryEvent]]:
        now = now_ms()
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            aliases.check_holders(conn, model, expected_holders)
            events = aliases.transition(conn, model, version, stage, archive_existing_versions, user_id, reason, now)
            rows.touch_model(conn, model.id, now)
            return self._version(conn, model, version), events

    def search_model_versions(
        self, filter_expr: Expr | None, max_results: int, order_by: list[OrderKey], page_token: str | None
    ) -> Page[ModelVersion]:
        offset = offset_from_token(page_token)
        query = (
            sa.select(mv, rm.c.name.label("model_name"))
            .join(rm, rm.c.id == mv.c.registered_model_id)
            .where(sql_search.version_filter(filter_expr))
            .order_by(*sql_search.version_ordering(order_by))
            .offset(offset)
            .limit(max_results + 1)
        )
        with self.db.read() as conn:
            found = conn.execute(query).all()
            page = found[:max_results]
            versions = rows.load_versions(conn, page, {r.registered_model_id: r.model_name for r in page})
        return Page(versions, next_offset_token(offset, max_results, len(found) > max_results))

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        with self.db.read() as conn:
            row = rows.version_row(conn, rows.model_row(conn, name).id, name, version)
        return str(row.storage_location or row.source)

    # ------------------------------------------------------------------ aliases and history

    def set_registered_model_alias(
        self,
        name: str,
        alias: str,
        version: int,
        user_id: str,
        reason: str | None,
        expected_holders: Holders | None = None,
    ) -> list[RegistryEvent]:
        """Point ``alias`` at ``version``; a move to where it already points changes and records nothing.
        ``expected_holders``: the gate's compare-and-set (see :func:`~dockyard.registry.sql_aliases.check_holders`)."""
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            aliases.check_holders(conn, model, expected_holders)
            event = aliases.set_alias(conn, model, alias, version, user_id, reason)
            return [] if event is None else [event]

    def delete_registered_model_alias(
        self, name: str, alias: str, user_id: str, reason: str | None
    ) -> list[RegistryEvent]:
        """Remove ``alias``; removing one that is not set does nothing (as MLflow)."""
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            event = aliases.delete_alias(conn, model, alias, user_id, reason)
            return [] if event is None else [event]

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
    ) -> tuple[ModelVersion, list[RegistryEvent]]:
        """Move ``alias`` to a READY ``version`` and transition its ``stage``, both or neither."""
        now = now_ms()
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            aliases.check_promotable(conn, model, version)
            aliases.check_holders(conn, model, expected_holders)
            events = []
            if alias is not None:
                event = aliases.set_alias(conn, model, alias, version, user_id, reason, when=now)
                events += [] if event is None else [event]
            if stage is not None:
                events += aliases.transition(
                    conn, model, version, stage, archive_existing_versions, user_id, reason, now
                )
            rows.touch_model(conn, model.id, now)
            return self._version(conn, model, version), events

    def rollback(
        self, name: str, alias: str, user_id: str, reason: str | None
    ) -> tuple[ModelVersion, list[RegistryEvent]]:
        """Point ``alias`` back where it was before its newest move not yet undone (see sql_aliases)."""
        now = now_ms()
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            undone, version = aliases.rollback_step(conn, model, alias)
            why = reason or f"rollback: undoes event {undone}"
            event = aliases.set_alias(conn, model, alias, version, user_id, why, when=now, undoes_event_id=undone)
            rows.touch_model(conn, model.id, now)
            return self._version(conn, model, version), [] if event is None else [event]

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.read() as conn:
            model = rows.model_row(conn, name)
            version = conn.execute(
                sa.select(rma.c.version).where(rma.c.registered_model_id == model.id, rma.c.alias == alias)
            ).scalar()
            if version is None:
                raise AliasNotFound(f"Registered model alias {alias} not found.")
            return self._version(conn, model, version)

    def get_registry_events(
        self, name: str, alias: str | None, max_results: int, page_token: str | None, newest_first: bool
    ) -> Page[RegistryEvent]:
        ev = t.registry_events
        offset = offset_from_token(page_token)
        with self.db.read() as conn:
            model = rows.model_row(conn, name)
            query = sa.select(ev).where(ev.c.registered_model_id == model.id)
            if alias is not None:
                query = query.where(ev.c.alias == alias)
            order = ev.c.id.desc() if newest_first else ev.c.id.asc()
            found = conn.execute(query.order_by(order).offset(offset).limit(max_results + 1)).all()
        events = [rows.load_event(r) for r in found[:max_results]]
        return Page(events, next_offset_token(offset, max_results, len(found) > max_results))
