"""Gates and validation records on SQLite or PostgreSQL (implements :class:`~dockyard.registry.store.GateStore`).

Inputs arrive validated by the service (rules parsed and canonical, results re-evaluated). Gates are keyed
by the registered model's id, so they follow a rename and go with the model when it is deleted; a
validation goes with its version's row.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from dockyard.core.clock import now_ms
from dockyard.core.errors import ResourceNotFound
from dockyard.db import Database
from dockyard.db import tables as t
from dockyard.registry import sql_rows as rows
from dockyard.registry.gates import Gate, RuleResult, Validation, decode_result, encode_result

mg, mval = t.model_gates, t.model_validations


def _gate(row: Any, name: str) -> Gate:
    return Gate(
        name=name,
        kind=row.kind,
        target=row.target,
        rules=tuple(json.loads(row.rules)),
        creation_timestamp=row.creation_timestamp,
        last_updated_timestamp=row.last_updated_timestamp,
        user_id=row.user_id,
    )


def _validation(row: Any, name: str) -> Validation:
    return Validation(
        validation_id=int(row.id),
        name=name,
        version=int(row.version),
        timestamp=int(row.timestamp),
        user_id=row.user_id,
        passed=bool(row.passed),
        results=tuple(decode_result(r) for r in json.loads(row.results)),
        baseline_version=row.baseline_version,
        data_digest=row.data_digest,
        metrics={str(k): float(v) for k, v in json.loads(row.metrics).items()},
        report_uri=row.report_uri,
    )


class SqlGateStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set_gate(self, name: str, kind: str, target: str, rules: list[str], user_id: str) -> Gate:
        """Create or replace the gate of ``target``."""
        now = now_ms()
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            key = sa.and_(mg.c.registered_model_id == model.id, mg.c.kind == kind, mg.c.target == target)
            text = json.dumps(rules)
            if conn.execute(sa.select(mg.c.kind).where(key)).first() is None:
                conn.execute(
                    mg.insert().values(
                        registered_model_id=model.id,
                        kind=kind,
                        target=target,
                        rules=text,
                        user_id=user_id,
                        creation_timestamp=now,
                        last_updated_timestamp=now,
                    )
                )
            else:
                conn.execute(mg.update().where(key).values(rules=text, user_id=user_id, last_updated_timestamp=now))
            return _gate(conn.execute(sa.select(mg).where(key)).one(), model.name)

    def get_gates(self, name: str) -> list[Gate]:
        with self.db.read() as conn:
            model = rows.model_row(conn, name)
            found = conn.execute(
                sa.select(mg).where(mg.c.registered_model_id == model.id).order_by(mg.c.kind, mg.c.target)
            ).all()
        return [_gate(r, model.name) for r in found]

    def get_gate(self, name: str, kind: str, target: str) -> Gate | None:
        with self.db.read() as conn:
            model = rows.model_row(conn, name)
            row = conn.execute(
                sa.select(mg).where(mg.c.registered_model_id == model.id, mg.c.kind == kind, mg.c.target == target)
            ).first()
        return None if row is None else _gate(row, model.name)

    def delete_gate(self, name: str, kind: str, target: str) -> None:
        with self.db.write() as conn:
            model = rows.model_row(conn, name, lock=True)
            done = conn.execute(
                mg.delete().where(mg.c.registered_model_id == model.id, mg.c.kind == kind, mg.c.target == target)
            )
            if not done.rowcount:
                raise ResourceNotFound(f"registered model {name!r} has no gate on {kind} {target!r}")

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
    ) -> Validation:
        with self.db.write() as conn:
            model = rows.model_row(conn, name)
            rows.version_row(conn, model.id, name, version)
            if baseline_version is not None:
                rows.version_row(conn, model.id, name, baseline_version)
            new_id = conn.execute(
                mval.insert()
                .values(
                    registered_model_id=model.id,
                    version=version,
                    timestamp=now_ms(),
                    user_id=user_id,
                    passed=all(r.passed for r in results),
                    baseline_version=baseline_version,
                    data_digest=data_digest,
                    results=json.dumps([encode_result(r) for r in results]),
                    metrics=json.dumps(metrics),
                    report_uri=report_uri,
                )
                .returning(mval.c.id)
            ).scalar_one()
            return _validation(conn.execute(sa.select(mval).where(mval.c.id == new_id)).one(), model.name)

    def list_validations(self, name: str, version: int | None, max_results: int) -> list[Validation]:
        """Newest first; one version's when ``version`` is given."""
        with self.db.read() as conn:
            model = rows.model_row(conn, name)
            query = sa.select(mval).where(mval.c.registered_model_id == model.id)
            if version is not None:
                rows.version_row(conn, model.id, name, version)
                query = query.where(mval.c.version == version)
            found = conn.execute(query.order_by(mval.c.id.desc()).limit(max_results)).all()
        return [_validation(r, model.name) for r in found]
