"""Validation gates and validation records: what an alias or stage requires, and the evidence a version has.

A **gate** belongs to a registered model and names a target, an alias (``champion``) or a stage
(``Production``), and the rules a version must pass to move there. A **validation** is the record of one
validation run of one version (written by ``dockyard validate``, see :mod:`dockyard.delivery`): each rule
with the measured value, the baseline's value and the outcome, the baseline version, the digest of the
data, who and when. The registry re-evaluates every rule from the recorded values when it stores a
validation, so a record cannot claim a pass its own numbers contradict.

:func:`check` decides a move: for each rule of the target's gate, the newest validation of the version
that has that rule must pass it; a rule that compares with a baseline counts only if it was measured
against the version that holds the target now (when nothing holds it, there is no baseline and such rules
are not required). Everything here is pure: the service reads the records and calls it.

The check and the move are atomic: the service passes the holders it checked against (:data:`Holders`) to
the store's move, which compares them with the holders it reads inside its own write transaction (the
model's row locked) and raises :class:`HolderChanged` when another move came in between; the service then
checks again against the new holder, so a validation against a baseline that no longer holds the target
never lets a version through.

>>> from dockyard.registry.gate_rules import parse_rule
>>> gate = Gate("churn", "alias", "champion", ("roc_auc >= 0.8",), 1, 1)
>>> ok = Validation(1, "churn", 3, 1, "ana", True, (RuleResult("roc_auc >= 0.8", 0.83, None, True),))
>>> check(gate, 3, None, [ok]).passed
True
>>> check(gate, 4, None, []).problems
["rule 'roc_auc >= 0.8' of alias 'champion': version 4 has no validation of it (run `dockyard validate`)"]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.core.errors import GateRefused, InvalidParameter
from dockyard.core.wire import drop_empty
from dockyard.registry.gate_rules import Rule, parse_rule

ALIAS, STAGE = "alias", "stage"

Holders = dict[tuple[str, str], int | None]
"""(kind, target) -> the version that held the target when its gate was checked (None: nothing held it)."""


class HolderChanged(GateRefused):
    """The store's compare-and-set: a gated target's holder is not the one the gate was checked against
    (another move committed in between). An ``INVALID_STATE`` like every gate refusal."""


@dataclass(frozen=True, slots=True)
class Gate:
    """The rules a version must pass before ``target`` (an alias or a stage name) may point at it."""

    name: str  # the registered model
    kind: str  # "alias" or "stage"
    target: str  # the alias, or the stage's canonical name ("Production")
    rules: tuple[str, ...]  # canonical rule texts
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind} {self.target!r}"


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule of a validation: the candidate's value, the baseline's (for a relative bound), the outcome."""

    rule: str  # canonical text
    value: float | None
    baseline_value: float | None = None
    passed: bool = False
    detail: str | None = None  # why there is no value, for example


@dataclass(frozen=True, slots=True)
class Validation:
    """One validation of one model version (see the module docstring)."""

    validation_id: int
    name: str
    version: int
    timestamp: int
    user_id: str
    passed: bool
    results: tuple[RuleResult, ...] = ()
    baseline_version: int | None = None
    data_digest: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    report_uri: str | None = None

    def result(self, rule: str) -> RuleResult | None:
        for r in self.results:
            if r.rule == rule:
                return r
        return None


@dataclass(frozen=True, slots=True)
class GateCheck:
    """The decision on one move: ``problems`` names each failed or missing rule (empty: it may move)."""

    gate: Gate | None
    version: int
    holder: int | None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def check_results(results: object) -> list[RuleResult]:
    """Validate results sent by a client and recompute each ``passed`` from its values."""
    if not isinstance(results, list | tuple) or not results:
        raise InvalidParameter("results must be a non-empty list of rule results")
    out: list[RuleResult] = []
    seen: set[str] = set()
    for item in results:
        if not isinstance(item, RuleResult):
            raise InvalidParameter(f"results: {item!r} is not a rule result")
        rule = parse_rule(item.rule)
        if rule.text in seen:
            raise InvalidParameter(f"results: rule {rule.text!r} appears twice")
        seen.add(rule.text)
        value, base = _finite(item.value, rule.text), _finite(item.baseline_value, rule.text)
        detail = None if item.detail is None else str(item.detail)[:1000]
        out.append(RuleResult(rule.text, value, base, rule.holds(value, base), detail))
    return out


def _finite(x: object, rule: str) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise InvalidParameter(f"results: the value of rule {rule!r} must be a number, not {x!r}")
    return None if math.isnan(float(x)) else float(x)


def check(gate: Gate | None, version: int, holder: int | None, validations: Sequence[Validation]) -> GateCheck:
    """Whether ``version`` may take ``gate``'s target now that ``holder`` holds it; ``validations`` are the
    version's, newest first."""
    if gate is None:
        return GateCheck(None, version, holder)
    problems: list[str] = []
    for text in gate.rules:
        rule = parse_rule(text)
        if rule.uses_baseline and holder is None:
            continue  # nothing holds the target: no baseline to compare with
        label = f"rule {text!r} of {gate.label}"
        found: RuleResult | None = None
        stale: Validation | None = None
        for validation in validations:
            result = validation.result(text)
            if result is None:
                continue
            if rule.uses_baseline and validation.baseline_version != holder:
                stale = stale or validation
                continue
            found = result
            break
        if found is None:
            if stale is not None:
                against = "no baseline" if stale.baseline_version is None else f"version {stale.baseline_version}"
                problems.append(
                    f"{label}: version {version} was validated against {against}, but version {holder} holds "
                    f"{gate.target!r} now (validate again with --baseline)"
                )
            else:
                problems.append(f"{label}: version {version} has no validation of it (run `dockyard validate`)")
        elif not found.passed:
            problems.append(f"{label} failed: {_describe(rule, found)}")
    return GateCheck(gate, version, holder, problems)


def _describe(rule: Rule, result: RuleResult) -> str:
    if result.value is None:
        return f"{rule.metric} was not measured" + (f" ({result.detail})" if result.detail else "")
    text = f"{rule.metric} = {result.value:.6g}"
    if rule.relative:
        bound = rule.threshold(result.baseline_value)
        text += f", bound {bound:.6g}" if bound is not None else ", no baseline value"
    return text


# ---------------------------------------------------------------------- the JSON codec


def encode_gate(g: Gate) -> dict[str, Any]:
    return drop_empty(
        {
            "name": g.name,
            g.kind: g.target,
            "rules": list(g.rules),
            "creation_timestamp": g.creation_timestamp,
            "last_updated_timestamp": g.last_updated_timestamp,
            "user_id": g.user_id,
        }
    )


def decode_gate(d: dict[str, Any]) -> Gate:
    kind = ALIAS if d.get(ALIAS) else STAGE
    return Gate(
        name=str(d["name"]),
        kind=kind,
        target=str(d[kind]),
        rules=tuple(str(r) for r in d.get("rules", [])),
        creation_timestamp=int(d.get("creation_timestamp", 0)),
        last_updated_timestamp=int(d.get("last_updated_timestamp", 0)),
        user_id=d.get("user_id"),
    )


def encode_result(r: RuleResult) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": r.rule, "value": r.value, "passed": r.passed}
    if r.baseline_value is not None:
        out["baseline_value"] = r.baseline_value
    if r.detail:
        out["detail"] = r.detail
    return out


def decode_result(d: Any) -> RuleResult:
    if not isinstance(d, dict) or "rule" not in d:
        raise InvalidParameter(f"results: {d!r} is not a rule result (an object with 'rule' and 'value')")
    return RuleResult(
        rule=d["rule"],
        value=d.get("value"),
        baseline_value=d.get("baseline_value"),
        passed=bool(d.get("passed", False)),
        detail=d.get("detail"),
    )


def encode_validation(x: Validation) -> dict[str, Any]:
    return drop_empty(
        {
            "validation_id": str(x.validation_id),
            "name": x.name,
            "version": str(x.version),
            "timestamp": x.timestamp,
            "user_id": x.user_id,
            "passed": x.passed,
            "results": [encode_result(r) for r in x.results],
            "baseline_version": None if x.baseline_version is None else str(x.baseline_version),
            "data_digest": x.data_digest,
            "metrics": dict(x.metrics),
            "report_uri": x.report_uri,
        }
    ) | {"passed": x.passed}


def decode_validation(d: dict[str, Any]) -> Validation:
    baseline = d.get("baseline_version")
    return Validation(
        validation_id=int(d["validation_id"]),
        name=str(d["name"]),
        version=int(d["version"]),
        timestamp=int(d.get("timestamp", 0)),
        user_id=str(d.get("user_id", "")),
        passed=bool(d.get("passed", False)),
        results=tuple(decode_result(r) for r in d.get("results", [])),
        baseline_version=None if baseline in (None, "") else int(baseline),
        data_digest=d.get("data_digest"),
        metrics={str(k): float(v) for k, v in (d.get("metrics") or {}).items()},
        report_uri=d.get("report_uri"),
    )


def encode_check(c: GateCheck) -> dict[str, Any]:
    return drop_empty(
        {
            "passed": c.passed,
            "version": str(c.version),
            "holder": None if c.holder is None else str(c.holder),
            "problems": list(c.problems),
            "gate": None if c.gate is None else encode_gate(c.gate),
        }
    ) | {"passed": c.passed}


def decode_check(d: dict[str, Any]) -> GateCheck:
    holder = d.get("holder")
    return GateCheck(
        gate=None if not d.get("gate") else decode_gate(d["gate"]),
        version=int(d["version"]),
        holder=None if holder in (None, "") else int(holder),
        problems=[str(p) for p in d.get("problems", [])],
    )
