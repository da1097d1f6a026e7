"""The rule grammar of validation gates: ``roc_auc >= 0.75``, ``roc_auc >= baseline - 0.01``,
``p95_latency_ms <= 20``, ``max_abs_diff(baseline) <= 0.2``.

::

    rule    := metric OP bound
    metric  := NAME | NAME "(" "baseline" ")"       a metric of the candidate, or one comparing it with the baseline
    OP      := ">=" | "<=" | ">" | "<" | "=="
    bound   := NUMBER | "baseline" [("+" | "-" | "*") NUMBER]

``baseline`` in the bound is the same metric measured on the baseline model (for a gate: the version
that holds the alias or stage now). Parsing is strict: an error names the rule, the position (0-based)
and what was expected there. A rule has one canonical text (single spaces, numbers as Python prints
them), so a gate's rules and a validation's results match by text.

>>> rule = parse_rule("roc_auc>=baseline-0.010")
>>> rule.text, rule.uses_baseline
('roc_auc >= baseline - 0.01', True)
>>> rule.holds(0.80, baseline=0.805)
True
>>> parse_rule("max_abs_diff(baseline) <= 0.2").metric
'max_abs_diff(baseline)'
>>> try:
...     parse_rule("roc_auc => 0.7")
... except InvalidParameter as err:
...     print(err.message)
rule 'roc_auc => 0.7': expected a comparison (>=, <=, >, <, ==) at position 8, found '=>'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from dockyard.core.errors import InvalidParameter

MAX_RULE_LENGTH = 500  # a rule is one comparison: anything longer is a mistake
OPS = (">=", "<=", ">", "<", "==")
BOUND_OPS = ("+", "-", "*")
BASELINE = "baseline"

_TOKEN = re.compile(
    r"\s*(?:(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op>>=|<=|==|=>|=<|!=|[<>=()+*/-]))"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed rule: ``metric op bound`` where bound is ``number`` or ``baseline <bound_op> number``."""

    metric: str  # the candidate's metric, e.g. "roc_auc" or "max_abs_diff(baseline)"
    op: str
    number: float | None = None  # the bound when it is a plain number
    bound_op: str | None = None  # "+", "-" or "*" when the bound is relative to the baseline
    offset: float = 0.0

    @property
    def relative(self) -> bool:
        """The bound is the baseline's value of the metric (possibly shifted)."""
        return self.number is None

    @property
    def uses_baseline(self) -> bool:
        """The rule needs a baseline model: in its bound, or in a comparison metric."""
        return self.relative or self.metric.endswith(f"({BASELINE})")

    @property
    def base_metric(self) -> str:
        """``max_abs_diff`` for ``max_abs_diff(baseline)``; the metric itself otherwise."""
        return self.metric.split("(", 1)[0]

    @property
    def text(self) -> str:
        if self.number is not None:
            bound = _num(self.number)
        elif self.bound_op is None:
            bound = BASELINE
        else:
            bound = f"{BASELINE} {self.bound_op} {_num(self.offset)}"
        return f"{self.metric} {self.op} {bound}"

    def threshold(self, baseline: float | None) -> float | None:
        """The number the metric is compared with (None: relative, and no baseline value)."""
        if self.number is not None:
            return self.number
        if baseline is None:
            return None
        if self.bound_op == "+":
            return baseline + self.offset
        if self.bound_op == "-":
            return baseline - self.offset
        if self.bound_op == "*":
            return baseline * self.offset
        return baseline

    def holds(self, value: float | None, baseline: float | None = None) -> bool:
        """Whether ``value`` passes; a missing or NaN value, or a missing baseline for a relative bound, fails."""
        bound = self.threshold(baseline)
        if value is None or bound is None or math.isnan(value) or math.isnan(bound):
            return False
        if self.op == ">=":
            return value >= bound
        if self.op == "<=":
            return value <= bound
        if self.op == ">":
            return value > bound
        if self.op == "<":
            return value < bound
        return value == bound

    def __str__(self) -> str:
        return self.text


def _num(x: float) -> str:
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise InvalidParameter(f"rule {text!r}: unexpected character {text[start]!r} at position {start}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def fail(self, expected: str) -> InvalidParameter:
        if self.i < len(self.tokens):
            _kind, value, pos = self.tokens[self.i]
            return InvalidParameter(f"rule {self.text!r}: expected {expected} at position {pos}, found {value!r}")
        return InvalidParameter(f"rule {self.text!r}: expected {expected} at position {len(self.text)}, found the end")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, expected: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise self.fail(expected)
        self.i += 1
        return token[1]

    def number(self, expected: str) -> float:
        sign = 1.0
        token = self.peek()
        if token is not None and token[:2] == ("op", "-"):
            self.i += 1
            sign = -1.0
        value = sign * float(self.take("number", expected))
        if math.isinf(value):
            raise InvalidParameter(
                f"rule {self.text!r}: the number at position {self.tokens[self.i - 1][2]} is too large"
            )
        return value

    def rule(self) -> Rule:
        metric = self.take("name", "a metric name such as roc_auc")
        if metric == BASELINE:
            self.i -= 1
            raise self.fail("a metric name (baseline goes on the right of the comparison)")
        token = self.peek()
        if token is not None and token[:2] == ("op", "("):
            self.i += 1
            self.take("name", "'baseline' (a comparison metric such as max_abs_diff(baseline))", BASELINE)
            self.take("op", "')'", ")")
            metric = f"{metric}({BASELINE})"
        token = self.peek()
        if token is None or token[0] != "op" or token[1] not in OPS:
            raise self.fail("a comparison (>=, <=, >, <, ==)")
        self.i += 1
        op = token[1]
        token = self.peek()
        if token is not None and token[:2] == ("name", BASELINE):
            self.i += 1
            after = self.peek()
            if after is None:
                return Rule(metric, op, bound_op=None)
            if after[0] != "op" or after[1] not in BOUND_OPS:
                raise self.fail("+, - or * after 'baseline', or the end of the rule")
            self.i += 1
            offset = self.number("a number")
            rule = Rule(metric, op, bound_op=after[1], offset=offset)
        else:
            rule = Rule(metric, op, number=self.number("a number or 'baseline'"))
        if self.peek() is not None:
            raise self.fail("the end of the rule")
        if rule.relative and rule.metric.endswith(f"({BASELINE})"):
            raise InvalidParameter(
                f"rule {self.text!r}: {rule.metric} already compares with the baseline; give a number as its bound"
            )
        return rule


def parse_rule(text: object) -> Rule:
    """Parse one rule (see the module docstring); :class:`InvalidParameter` names what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameter(f"rule {text!r}: a rule is a comparison such as 'roc_auc >= 0.8'")
    if len(text) > MAX_RULE_LENGTH:
        raise InvalidParameter(f"rule {text[:40]!r}...: longer than {MAX_RULE_LENGTH} characters")
    return _Parser(text).rule()


def parse_rules(texts: object, field: str = "rules") -> list[Rule]:
    """A non-empty list of rules without duplicates (by canonical text), in the order given."""
    if isinstance(texts, str) or not isinstance(texts, list | tuple):
        raise InvalidParameter(f"{field} must be a list of rules such as ['roc_auc >= 0.8']")
    if not texts:
        raise InvalidParameter(f"{field}: give at least one rule")
    rules: list[Rule] = []
    seen: set[str] = set()
    for text in texts:
        rule = parse_rule(text)
        if rule.text not in seen:
            seen.add(rule.text)
            rules.append(rule)
    return rules
