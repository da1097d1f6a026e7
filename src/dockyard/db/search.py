"""SQL pieces every store's search compiles to: one comparison, AND/OR trees, NULLs-last ordering, and
IN lists cut to a size every database takes. The tracking and registry stores map their own fields to
columns and call these.

>>> import sqlalchemy as sa
>>> str(compare(sa.column("name"), "LIKE", "a%"))
'name LIKE :name_1'
>>> [list(c) for c in chunks([1, 2, 3], 2)]
[[1, 2], [3]]
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from dockyard.core.errors import InvalidFilter
from dockyard.core.search import And, Comparison, Expr, Or

IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's variable limit


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices of at most ``size``, for IN (...) lists."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


# The search grammar's comparators as SQLAlchemy operations on a column.
_COMPARATORS: dict[str, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "LIKE": lambda column, value: column.like(value),
    "ILIKE": lambda column, value: column.ilike(value),
    "IN": lambda column, value: column.in_(list(value)),
    "NOT IN": lambda column, value: column.not_in(list(value)),
}


def compare(column: Any, op: str, value: Any) -> sa.ColumnElement[bool]:
    """``column <op> value`` for every comparator of the search grammar."""
    comparator = _COMPARATORS.get(op)
    if comparator is None:
        raise InvalidFilter(f"unsupported comparator {op!r}")
    return comparator(column, value)


def compile_filter(expr: Expr, leaf: Callable[[Comparison], sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    """A WHERE clause for a parsed filter: ``leaf`` compiles each comparison, AND/OR nest as parsed."""
    if isinstance(expr, Comparison):
        return leaf(expr)
    if isinstance(expr, And):
        return sa.and_(*(compile_filter(e, leaf) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(compile_filter(e, leaf) for e in expr.items))
    raise InvalidFilter(f"unexpected filter node {expr!r}")


def ordered(column: Any, ascending: bool) -> Any:
    """An ORDER BY term with NULLs last in both directions, as MLflow sorts."""
    return (column.asc() if ascending else column.desc()).nulls_last()
