"""Compile parsed registry filters and order_by keys (``core.search``, kinds ``registered_models``
and ``model_versions``) into SQLAlchemy clauses.

Tag comparisons are sub-queries on the tag tables, so a filter never multiplies rows. One tag is
special, as in MLflow: ``mlflow.prompt.is_prompt`` marks prompts (registered models that hold prompt
text), and a model *without* it must match ``tags.`mlflow.prompt.is_prompt` != 'true'`` (MLflow's client
adds that clause to every registered-model search). So that tag's value reads as ``'false'`` when it is
absent. Unless a filter mentions the tag, prompts are left out of results, as MLflow's server does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from dockyard.core.errors import InvalidFilter
from dockyard.core.search import Comparison, Expr, OrderKey
from dockyard.db import tables as t
from dockyard.db.search import compare, compile_filter

PROMPT_TAG = "mlflow.prompt.is_prompt"

rm = t.registered_models
rmt = t.registered_model_tags
mv = t.model_versions
mvt = t.model_version_tags

_MODEL_ATTRIBUTES = {
    "name": rm.c.name,
    "creation_timestamp": rm.c.creation_timestamp,
    "last_updated_timestamp": rm.c.last_updated_timestamp,
}

_VERSION_ATTRIBUTES = {
    "name": rm.c.name,  # model_versions is always joined with registered_models
    "run_id": mv.c.run_id,
    "source_path": mv.c.source,
    "version_number": mv.c.version,
    "creation_timestamp": mv.c.creation_timestamp,
    "last_updated_timestamp": mv.c.last_updated_timestamp,
}


def _mentions(expr: Expr | None, key: str) -> bool:
    if expr is None:
        return False
    if isinstance(expr, Comparison):
        return expr.entity == "tag" and expr.key == key
    return any(_mentions(e, key) for e in expr.items)


def _model_prompt_value() -> Any:
    value = (
        sa.select(rmt.c.value)
        .where(rmt.c.registered_model_id == rm.c.id, rmt.c.key == PROMPT_TAG)
        .limit(1)
        .scalar_subquery()
    )
    return sa.func.coalesce(value, "false")


def _version_prompt_value() -> Any:
    value = (
        sa.select(mvt.c.value)
        .where(
            mvt.c.registered_model_id == mv.c.registered_model_id,
            mvt.c.version == mv.c.version,
            mvt.c.key == PROMPT_TAG,
        )
        .limit(1)
        .scalar_subquery()
    )
    return sa.func.coalesce(value, "false")


def _model_comparison(c: Comparison) -> sa.ColumnElement[bool]:
    if c.entity == "attribute":
        column = _MODEL_ATTRIBUTES.get(c.key)
        if column is None:
            raise InvalidFilter(f"unknown registered model attribute {c.key!r}")
        return compare(column, c.op, c.value)
    if c.entity == "tag":
        if c.key == PROMPT_TAG:
            return compare(_model_prompt_value(), c.op, c.value)
        return rm.c.id.in_(
            sa.select(rmt.c.registered_model_id).where(rmt.c.key == c.key, compare(rmt.c.value, c.op, c.value))
        )
    raise InvalidFilter(f"registered models cannot be filtered on {c.entity!r}")


def _version_comparison(c: Comparison) -> sa.ColumnElement[bool]:
    if c.entity == "attribute":
        column = _VERSION_ATTRIBUTES.get(c.key)
        if column is None:
            raise InvalidFilter(f"unknown model version attribute {c.key!r}")
        return compare(column, c.op, c.value)
    if c.entity == "tag":
        if c.key == PROMPT_TAG:
            return compare(_version_prompt_value(), c.op, c.value)
        return sa.exists().where(
            mvt.c.registered_model_id == mv.c.registered_model_id,
            mvt.c.version == mv.c.version,
            mvt.c.key == c.key,
            compare(mvt.c.value, c.op, c.value),
        )
    raise InvalidFilter(f"model versions cannot be filtered on {c.entity!r}")


def model_filter(expr: Expr | None) -> sa.ColumnElement[bool]:
    """The WHERE clause of a registered-model search (prompts excluded unless the filter asks)."""
    clauses = [] if expr is None else [compile_filter(expr, _model_comparison)]
    if not _mentions(expr, PROMPT_TAG):
        clauses.append(_model_prompt_value() != "true")
    return sa.and_(sa.true(), *clauses)


def version_filter(expr: Expr | None) -> sa.ColumnElement[bool]:
    """The WHERE clause of a version search over ``model_versions JOIN registered_models``."""
    clauses: list[sa.ColumnElement[bool]] = [mv.c.deleted_timestamp.is_(None)]
    if expr is not None:
        clauses.append(compile_filter(expr, _version_comparison))
    if not _mentions(expr, PROMPT_TAG):
        clauses.append(_version_prompt_value() != "true")
        clauses.append(_model_prompt_value() != "true")
    return sa.and_(*clauses)


def _ordering(
    keys: list[OrderKey], columns: dict[str, Any], what: str, tie_breakers: list[tuple[str, bool]]
) -> list[Any]:
    clauses: list[Any] = []
    seen: set[str] = set()
    for key in keys:
        column = columns.get(key.key) if key.entity == "attribute" else None
        if column is None:
            raise InvalidFilter(f"cannot order {what} by {key.entity} {key.key!r}")
        if key.key in seen:
            raise InvalidFilter(f"order_by names {key.key!r} twice")
        seen.add(key.key)
        clauses.append(column.asc() if key.ascending else column.desc())
    for name, ascending in tie_breakers:
        if name not in seen:
            clauses.append(columns[name].asc() if ascending else columns[name].desc())
    return clauses


def model_ordering(keys: list[OrderKey]) -> list[Any]:
    """ORDER BY for registered models: the keys given, then name ascending (MLflow's tie-breaker)."""
    return _ordering(keys, _MODEL_ATTRIBUTES, "registered models", [("name", True)])


DEFAULT_VERSION_ORDER = [
    OrderKey("attribute", "last_updated_timestamp", False),
    OrderKey("attribute", "name", True),
    OrderKey("attribute", "version_number", False),
]


def version_ordering(keys: list[OrderKey]) -> list[Any]:
    """ORDER BY for versions: MLflow's default is newest update first; ties by name, then version DESC."""
    return _ordering(
        keys or DEFAULT_VERSION_ORDER,
        _VERSION_ATTRIBUTES,
        "model versions",
        [("name", True), ("version_number", False)],
    )
