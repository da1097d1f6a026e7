"""Search filters and ``order_by`` clauses for runs and experiments.

A hand-written tokenizer and recursive-descent parser for MLflow's filter grammar, extended with ``OR``
and parentheses. The result is a small immutable AST (:class:`Comparison`, :class:`And`, :class:`Or`)
that a store compiles to SQL or evaluates in memory. Anything that does not parse raises
:class:`~dockyard.core.errors.InvalidFilter` carrying the 0-based offset where parsing failed::

    filter      := or_expr EOF                (empty or blank text -> None)
    or_expr     := and_expr ( OR and_expr )*
    and_expr    := primary ( AND primary )*   (AND binds tighter than OR)
    primary     := '(' or_expr ')' | comparison
    comparison  := identifier comparator value
    identifier  := [prefix '.'] key           (key: bare word, `backticked` or "double-quoted")
    comparator  := = | != | > | >= | < | <= | LIKE | ILIKE | IN | NOT IN
    value       := number | 'string' | "string" | '(' string (',' string)* ')'

Keywords are case-insensitive. Inside quotes a quote character is written doubled (``'it''s'``) or
backslash-escaped (``'it\\'s'``); ``\\\\`` stands for one backslash and any other backslash is literal.

>>> parse_filter("metrics.loss < 0.5 AND params.model = 'cnn'")
And(items=(Comparison(entity='metric', key='loss', op='<', value=0.5), \
Comparison(entity='param', key='model', op='=', value='cnn')))
>>> parse_filter("tags.mlflow.runName ILIKE '%best%' OR `run name` = 'x'")
Or(items=(Comparison(entity='tag', key='mlflow.runName', op='ILIKE', value='%best%'), \
Comparison(entity='attribute', key='run_name', op='=', value='x')))
>>> parse_filter("   ") is None
True
>>> parse_order_by(["metrics.`val.loss` DESC", "created"])
[OrderKey(entity='metric', key='val.loss', ascending=False), \
OrderKey(entity='attribute', key='start_time', ascending=True)]
>>> bool(like_to_regex("run-%", case_sensitive=True).match("run-42"))
True
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import NoReturn, TypeAlias

from dockyard.core.errors import InvalidFilter

__all__ = [
    "And",
    "Comparison",
    "Expr",
    "Or",
    "OrderKey",
    "like_to_regex",
    "parse_filter",
    "parse_order_by",
]


from dockyard.core.search_vocabulary import (  # noqa: F401
    _ALL_OPS,
    _ATTRIBUTE_ALIASES,
    _COMPARATORS_TEXT,
    _DATASET_KEYS,
    _ENTITY_LABEL,
    _FILTER_ATTRIBUTES,
    _KINDS,
    _LIST_OPS,
    _MAX_COMPARISONS,
    _MAX_DEPTH,
    _MAX_FILTER_LENGTH,
    _MAX_LIST_VALUES,
    _MAX_NESTING,
    _MAX_ORDER_JOINS,
    _MAX_ORDER_KEYS,
    _NUMERIC_OPS,
    _ORDER_ATTRIBUTES,
    _PREFIXES,
    _RESERVED,
    _STRING_OPS,
)

# --------------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``<entity>.<key> <op> <value>`` test.

    ``entity`` is ``"metric"``, ``"param"``, ``"tag"``, ``"attribute"`` or ``"dataset"``; ``op`` is the
    upper-case comparator; ``value`` is a ``float`` for metrics, an ``int`` for numeric attributes, a
    ``tuple`` of strings for ``IN``/``NOT IN`` and a ``str`` otherwise.
    """

    entity: str
    key: str
    op: str
    value: float | int | str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class And:
    """All of ``items`` hold (never directly contains another :class:`And`)."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``items`` holds (never directly contains another :class:`Or`)."""

    items: tuple[Expr, ...]


Expr: TypeAlias = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One parsed ``order_by`` clause."""

    entity: str
    key: str
    ascending: bool


# ------------------------------------------------------------------------------------------- tokenizer

_BARE = frozenset(string.ascii_letters + string.digits + "_-/:.")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"[+-]?\d+")
_QUOTE_NAMES = {"'": "string", '"': "double-quoted string", "`": "backticked name"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word" "number" "string" "op" "(" ")" "," "unknown" "eof"
    text: str  # the raw source text
    pos: int
    end: int
    value: str = ""  # decoded contents of a quoted token
    quote: str = ""  # the quote character of a "string" token


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "(),":
            tokens.append(_Token(c, c, i, i + 1))
            i += 1
        elif c in "=<>!":
            two = text[i : i + 2]
            if two in ("!=", ">=", "<="):
                tokens.append(_Token("op", two, i, i + 2))
                i += 2
            elif c == "!":
                tokens.append(_Token("unknown", c, i, i + 1))
                i += 1
            else:
                tokens.append(_Token("op", c, i, i + 1))
                i += 1
        elif c in _QUOTE_NAMES:
            value, end = _read_quoted(text, i)
            tokens.append(_Token("string", text[i:end], i, end, value=value, quote=c))
            i = end
        else:
            m = _NUMBER_RE.match(text, i)
            if m and (m.end() == n or text[m.end()] not in _BARE):
                tokens.append(_Token("number", m.group(), i, m.end()))
                i = m.end()
            elif c in _BARE:
                j = i
                while j < n and text[j] in _BARE:
                    j += 1
                tokens.append(_Token("word", text[i:j], i, j))
                i = j
            else:
                tokens.append(_Token("unknown", c, i, i + 1))
                i += 1
    tokens.append(_Token("eof", "", n, n))
    return tokens


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Decode the quoted token opening at ``start``; return its value and the offset after it."""
    quote = text[start]
    out: list[str] = []
    n = len(text)
    i = start + 1
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif c == quote:
            if i + 1 < n and text[i + 1] == quote:
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise InvalidFilter(
        f"unterminated {_QUOTE_NAMES[quote]}: expected a closing {quote} but found end of input",
        text=text,
        position=start,
    )


def _found(tok: _Token) -> str:
    if tok.kind == "eof":
        return "end of input"
    return repr(tok.text)


# ---------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, kind: str, context: str = "") -> None:
        self.text = text
        self.kind = kind
        self.context = context  # prefix for error messages
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.comparisons = 0
        self.list_values = 0

    # -- helpers

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def is_keyword(self, tok: _Token, *words: str) -> bool:
        return tok.kind == "word" and tok.text.upper() in words

    def fail(self, message: str, position: int) -> NoReturn:
        raise InvalidFilter(self.context + message, text=self.text, position=position)

    def expected(self, what: str, tok: _Token) -> NoReturn:
        self.fail(f"expected {what} but found {_found(tok)}", tok.pos)

    # -- expressions

    def parse_filter(self) -> Expr:
        expr = self.or_expr()
        tok = self.peek()
        if tok.kind == ")":
            self.fail("unbalanced ')': expected AND, OR or end of input but found ')'", tok.pos)
        if tok.kind != "eof":
            self.expected("AND, OR or end of input", tok)
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.is_keyword(self.peek(), "OR"):
            self.advance()
            items.append(self.and_expr())
        return _combine(Or, items)

    def and_expr(self) -> Expr:
        items = [self.primary()]
        while self.is_keyword(self.peek(), "AND"):
            self.advance()
            items.append(self.primary())
        return _combine(And, items)

    def primary(self) -> Expr:
        tok = self.peek()
        if tok.kind != "(":
            return self.comparison()
        if self.depth >= _MAX_DEPTH:
            self.fail(f"parentheses nested deeper than {_MAX_DEPTH} levels", tok.pos)
        self.advance()
        self.depth += 1
        expr = self.or_expr()
        self.depth -= 1
        close = self.peek()
        if close.kind != ")":
            self.expected(f"AND, OR or ')' to close the '(' at position {tok.pos}", close)
        self.advance()
        return expr

    def comparison(self) -> Comparison:
        ident = self.peek()
        self.comparisons += 1
        if self.comparisons > _MAX_COMPARISONS:
            # No position or text: the message would repeat a filter this long twice.
            raise InvalidFilter(f"{self.context}filter has more than {_MAX_COMPARISONS} comparisons (the limit)")
        entity, raw_key = self.identifier()
        key, value_type, allowed = self.filter_spec(entity, raw_key, ident)
        op_tok = self.peek()
        op = self.comparator()
        if op not in allowed:
            label = f"{_ENTITY_LABEL[entity]} {key!r}"
            hint = ""
            if op in _LIST_OPS and entity == "attribute" and self.kind == "runs":
                hint = " (IN and NOT IN only apply to run_id)"
            self.fail(
                f"comparator {op!r} is not allowed for {label}; expected one of {', '.join(allowed)}{hint}",
                op_tok.pos,
            )
        value = self.value(value_type, op, f"{_ENTITY_LABEL[entity]} {key!r}")
        return Comparison(entity, key, op, value)

    # -- pieces

    def identifier(self) -> tuple[str, str]:
        """Read ``[prefix '.'] key``; return the entity and the key as written (not yet normalised)."""
        tok = self.peek()
        what = "an identifier (e.g. metrics.loss, params.lr, tags.team, status)"
        if tok.kind == "string" and tok.quote in ('"', "`"):
            self.advance()
            return "attribute", tok.value
        if tok.kind != "word" or tok.text.upper() in _RESERVED:
            self.expected(what, tok)
        self.advance()
        word = tok.text
        head, dot, rest = word.partition(".")
        if not dot:
            return "attribute", word
        prefixes = _PREFIXES[self.kind]
        entity = prefixes.get(head.lower())
        if entity is None:
            valid = ", ".join(sorted(prefixes))
            self.fail(
                f"unknown prefix {head!r} in {word!r} when searching {self.kind}; expected one of {valid}",
                tok.pos,
            )
        if rest:
            return entity, rest
        # "metrics." directly followed by a quoted key: metrics.`val loss`, params."model class"
        quoted = self.peek()
        if quoted.kind == "string" and quoted.quote in ('"', "`") and quoted.pos == tok.end:
            self.advance()
            return entity, quoted.value
        self.expected(f'a key after {word!r} (bare, `backticked` or "double-quoted")', quoted)

    def filter_spec(self, entity: str, key: str, tok: _Token) -> tuple[str, str, tuple[str, ...]]:
        """Validate the key; return it normalised with its value type and allowed comparators."""
        if not key:
            self.fail(f"expected a non-empty {_ENTITY_LABEL[entity]} name but found {tok.text!r}", tok.pos)
        if entity == "metric":
            return key, "number", _NUMERIC_OPS
        if entity in ("param", "tag"):
            return key, "string", _STRING_OPS
        if entity == "dataset":
            if key not in _DATASET_KEYS:
                self.fail(f"expected a dataset field ({', '.join(_DATASET_KEYS)}) but found {key!r}", tok.pos)
            return key, "string", _STRING_OPS + _LIST_OPS
        attributes = _FILTER_ATTRIBUTES[self.kind]
        name = _normalise_attribute(key, self.kind)
        if name not in attributes:
            self.fail(f"expected an attribute ({', '.join(sorted(attributes))}) but found {key!r}", tok.pos)
        value_type, allowed = attributes[name]
        return name, value_type, allowed

    def comparator(self) -> str:
        tok = self.peek()
        if tok.kind == "op":
            self.advance()
            return tok.text
        if self.is_keyword(tok, "LIKE", "ILIKE", "IN"):
            self.advance()
            return tok.text.upper()
        if self.is_keyword(tok, "NOT"):
            self.advance()
            nxt = self.peek()
            if not self.is_keyword(nxt, "IN"):
                self.expected("IN after NOT", nxt)
            self.advance()
            return "NOT IN"
        self.expected(f"a comparator ({_COMPARATORS_TEXT})", tok)

    def value(self, value_type: str, op: str, label: str) -> float | int | str | tuple[str, ...]:
        if op in _LIST_OPS:
            return self.string_list(label)
        tok = self.peek()
        if value_type == "number":
            if tok.kind != "number":
                self.expected(f"a number for {label}", tok)
            self.advance()
            return float(tok.text)
        if value_type == "int":
            if tok.kind != "number":
                self.expected(f"an integer timestamp (milliseconds) for {label}", tok)
            number = _to_int(tok.text)
            if number is None:
                self.expected(f"an integer timestamp (milliseconds) for {label}", tok)
            self.advance()
            return number
        return self.quoted_string(label)

    def quoted_string(self, label: str) -> str:
        tok = self.peek()
        if tok.kind != "string" or tok.quote == "`":
            self.expected(f"a quoted string ('...' or \"...\") for {label}", tok)
        self.advance()
        return tok.value

    def string_list(self, label: str) -> tuple[str, ...]:
        tok = self.peek()
        if tok.kind != "(":
            self.expected(f"'(' to start the list of quoted strings for {label}", tok)
        self.advance()
        items = [self.list_value(label)]
        while True:
            tok = self.peek()
            if tok.kind == ")":
                self.advance()
                return tuple(items)
            if tok.kind != ",":
                self.expected("',' or ')' in the list", tok)
            self.advance()
            items.append(self.list_value(label))

    def list_value(self, label: str) -> str:
        self.list_values += 1
        if self.list_values > _MAX_LIST_VALUES:
            raise InvalidFilter(f"{self.context}filter has more than {_MAX_LIST_VALUES} values in IN lists (the limit)")
        return self.quoted_string(label)

    # -- order_by

    def parse_order_key(self) -> OrderKey:
        ident = self.peek()
        entity, raw_key = self.identifier()
        if not raw_key:
            self.fail(f"expected a non-empty {_ENTITY_LABEL[entity]} name but found {ident.text!r}", ident.pos)
        key = raw_key
        if entity == "dataset":
            self.fail("cannot order by a dataset field; expected a metric, param, tag or attribute", ident.pos)
        if entity == "attribute":
            orderable = _ORDER_ATTRIBUTES[self.kind]
            key = _normalise_attribute(raw_key, self.kind)
            if key not in orderable:
                self.fail(
                    f"expected an orderable attribute ({', '.join(sorted(orderable))}) but found {raw_key!r}",
                    ident.pos,
                )
        ascending = True
        tok = self.peek()
        if self.is_keyword(tok, "ASC", "DESC"):
            ascending = tok.text.upper() == "ASC"
            self.advance()
            tok = self.peek()
        if tok.kind != "eof":
            self.expected("ASC, DESC or end of clause", tok)
        return OrderKey(entity, key, ascending)


def _combine(cls: type[And | Or], items: list[Expr]) -> Expr:
    flat: list[Expr] = []
    for item in items:
        if isinstance(item, cls):
            flat.extend(item.items)
        else:
            flat.append(item)
    if len(flat) == 1:
        return flat[0]
    return cls(tuple(flat))


def _normalise_attribute(key: str, kind: str) -> str:
    """``"Run Name"`` -> ``"run_name"``, ``"created"`` -> ``"start_time"`` (runs)."""
    name = "_".join(key.strip().lower().split())
    return _ATTRIBUTE_ALIASES[kind].get(name, name)


def _to_int(text: str) -> int | None:
    if _INT_RE.fullmatch(text):
        return int(text)
    number = float(text)
    if number.is_integer():
        return int(number)
    return None


def _check_kind(kind: str) -> None:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}")


def _nesting(expr: Expr) -> int:
    """Levels of alternating And and Or (0 for a single comparison); at most the parentheses' depth."""
    if isinstance(expr, Comparison):
        return 0
    return 1 + max(_nesting(item) for item in expr.items)


def _check_length(text: str, what: str) -> None:
    if len(text) > _MAX_FILTER_LENGTH:
        raise InvalidFilter(f"{what} is {len(text)} characters long, over the limit of {_MAX_FILTER_LENGTH}")


# ------------------------------------------------------------------------------------------ public API


def parse_filter(text: str | None, kind: str = "runs") -> Expr | None:
    """Parse a search filter for ``kind`` (``"runs"`` or ``"experiments"``).

    Returns ``None`` for a missing or blank filter, a bare :class:`Comparison` for a single test, and
    flattened :class:`And` / :class:`Or` nodes otherwise. Raises :class:`InvalidFilter`.
    """
    _check_kind(kind)
    if text is None or not text.strip():
        return None
    _check_length(text, "filter")
    expr = _Parser(text, kind).parse_filter()
    if _nesting(expr) > _MAX_NESTING:
        raise InvalidFilter(f"filter nests AND and OR more than {_MAX_NESTING} levels deep (the limit)")
    return expr


def parse_order_by(clauses: list[str] | None, kind: str = "runs") -> list[OrderKey]:
    """Parse ``order_by`` clauses of the form ``<identifier> [ASC|DESC]`` (ascending by default).

    Raises :class:`InvalidFilter` naming the clause (its ``text``) and the offset inside it, or the limit:
    at most 100 clauses, of which at most 32 on metrics, params or tags.
    """
    _check_kind(kind)
    clauses = list(clauses or ())
    if len(clauses) > _MAX_ORDER_KEYS:
        raise InvalidFilter(f"order_by has {len(clauses)} clauses, over the limit of {_MAX_ORDER_KEYS}")
    keys: list[OrderKey] = []
    for index, clause in enumerate(clauses):
        if isinstance(clause, str):
            _check_length(clause, f"order_by clause {index + 1}")
        parser = _Parser(clause, kind, context=f"order_by clause {index + 1}: ")
        keys.append(parser.parse_order_key())
    joins = sum(1 for key in keys if key.entity in ("metric", "param", "tag"))
    if joins > _MAX_ORDER_JOINS:
        raise InvalidFilter(
            f"order_by has {joins} clauses on metrics, params or tags, over the limit of {_MAX_ORDER_JOINS}"
        )
    return keys


def like_to_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """Compile a SQL ``LIKE`` pattern to an anchored regex: ``%`` is any run, ``_`` any one character.

    There is no escape character; everything other than the two wildcards matches itself.

    >>> like_to_regex("a_c%", case_sensitive=False).pattern
    '\\\\Aa.c.*\\\\Z'
    """
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.compile(r"\A" + "".join(parts) + r"\Z", flags)
