"""Promotion gates and validation records, for :class:`~dockyard.registry.service.RegistryService`.

The registry service delegates its gate methods (``set_gate``, ``get_gates``, ``delete_gate``, ``check_gate``,
``log_validation``, ``list_validations``) to a :class:`GateService`, and wraps every alias move and stage
transition in :meth:`GateService.gated`: the move is checked against the gates of its target, then the store
re-reads the holders the check compared with inside the move's transaction and refuses it if one changed
meanwhile (:class:`~dockyard.registry.gates.HolderChanged`); the check then runs again against the new holder.
The rules and their evaluation are :mod:`dockyard.registry.gates` and :mod:`dockyard.registry.gate_rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from dockyard.core import validation as cv
from dockyard.core.errors import AliasNotFound, GateRefused, InvalidParameter
from dockyard.registry import gates as g
from dockyard.registry import validation as v
from dockyard.registry.entities import Stage
from dockyard.registry.gate_rules import parse_rules
from dockyard.registry.store import RegistryStore
from dockyard.tracking import validation as tv

MAX_VALIDATIONS_CHECKED = 200  # a gate looks at a version's newest validations only
GATE_ATTEMPTS = 3  # check-and-move attempts while concurrent moves keep changing a gated target's holder
_Moved = TypeVar("_Moved")
MAX_VALIDATIONS_PAGE = 1000
MAX_METRICS = 500
MAX_REPORT_URI_LENGTH = 5000  # as long as a model version's source


def _target(alias: str | None, stage: str | Stage | None) -> tuple[str, str]:
    """("alias", name) or ("stage", canonical stage name): exactly one of the two must be given."""
    if (alias is None) == (stage is None):
        raise InvalidParameter("a gate is on an alias or on a stage: give exactly one of alias and stage")
    if alias is not None:
        return g.ALIAS, v.check_alias(alias)
    return g.STAGE, v.check_stage(stage).value


def _metrics(metrics: object) -> dict[str, float]:
    """``metrics`` as names and numbers (None: none), at most :data:`MAX_METRICS` of them."""
    if metrics is None:
        return {}
    if not isinstance(metrics, dict) or len(metrics) > MAX_METRICS:
        raise InvalidParameter(f"metrics must be an object of at most {MAX_METRICS} names and numbers")
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidParameter(f"metrics: {key!r} must be a number, not {value!r}")
        out[cv.check_key(str(key), "metric name")] = float(value)
    return out


class GateService:
    """Gates on aliases and stages, validation records, and the gate check around every move."""

    def __init__(self, store: RegistryStore, user: Callable[[str | None], str]) -> None:
        """``user(user_id)``: the checked user to record (``user_id``, else the registry's default user)."""
        self.store = store
        self._user = user

    def gated(
        self,
        name: str,
        version: int,
        alias: str | None,
        stage: Stage | None,
        force: bool,
        reason: str | None,
        move: Callable[[str | None, g.Holders], _Moved],
    ) -> _Moved:
        """Check the gates of ``alias`` and ``stage`` (:meth:`_enforce_gates`), then ``move(reason, holders)``;
        the store refuses the move in its transaction when a holder changed since the check (a concurrent move,
        :class:`~dockyard.registry.gates.HolderChanged`), and the check runs again against the new holder."""
        for attempt in range(GATE_ATTEMPTS):
            why, holders = self._enforce_gates(name, version, alias, stage, force=force, reason=reason)
            try:
                return move(why, holders)
            except g.HolderChanged:
                if attempt == GATE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _enforce_gates(
        self, name: str, version: int, alias: str | None, stage: Stage | None, *, force: bool, reason: str | None
    ) -> tuple[str | None, g.Holders]:
        """Raise :class:`GateRefused` naming every failed or missing rule of the gates on ``alias`` and
        ``stage``; with ``force``, let the move through and return the reason to record, prefixed with them.
        Also returns the holder each gate was checked against, for the store's compare-and-set. A move to
        where the target already points is not checked (it changes nothing)."""
        gates = self.store.gates.get_gates(name)
        holders: g.Holders = {}
        if not gates:
            return reason, holders
        problems: list[str] = []
        validations: list[g.Validation] | None = None  # read once, when a gate first needs them
        wanted = [(g.ALIAS, alias), (g.STAGE, None if stage is None else stage.value)]
        for kind, target in wanted:
            gate = next((x for x in gates if x.kind == kind and x.target == target), None)
            if gate is None:
                continue
            holder = self._holder(name, kind, target or "", version)
            holders[(kind, gate.target)] = holder
            if holder == version:
                continue
            if validations is None:
                validations = self.store.gates.list_validations(name, version, MAX_VALIDATIONS_CHECKED)
            problems += g.check(gate, version, holder, validations).problems
        if not problems:
            return reason, holders
        if not force:
            raise GateRefused(
                f"Model {name} version {version} does not pass the gate: {'; '.join(problems)}. "
                "Validate it with `dockyard validate`, or promote with --force and a reason (needs MANAGE)."
            )
        return f"forced past the gate ({'; '.join(problems)}): {reason}"[: v.MAX_DESCRIPTION_LENGTH], holders

    def _holder(self, name: str, kind: str, target: str, version: int) -> int | None:
        """The version that holds ``target`` now (for a stage: the highest other version in it)."""
        if kind == g.ALIAS:
            try:
                return self.store.get_model_version_by_alias(name, target).version
            except AliasNotFound:
                return None
        # The highest version in the stage; when that is the candidate, it is there already.
        found = self.store.get_latest_versions(name, [Stage(target)])
        return found[0].version if found else None

    def check_gate(
        self, name: str, version: int | str, alias: str | None = None, stage: str | Stage | None = None
    ) -> g.GateCheck:
        """Whether ``version`` may take ``alias`` (or ``stage``) now, without moving anything."""
        kind, target = _target(alias, stage)
        name, number = v.check_model_name(name), v.check_version(version)
        self.store.get_model_version(name, number)
        gate = self.store.gates.get_gate(name, kind, target)
        holder = self._holder(name, kind, target, number)
        validations = self.store.gates.list_validations(name, number, MAX_VALIDATIONS_CHECKED)
        return g.check(gate, number, holder, validations)

    def set_gate(
        self,
        name: str,
        rules: Sequence[str],
        alias: str | None = None,
        stage: str | Stage | None = None,
        user_id: str | None = None,
    ) -> g.Gate:
        """Require ``rules`` of every version that ``alias`` (or ``stage``) moves to; replaces its gate."""
        kind, target = _target(alias, stage)
        texts = [r.text for r in parse_rules(list(rules) if isinstance(rules, tuple) else rules)]
        return self.store.gates.set_gate(v.check_model_name(name), kind, target, texts, self._user(user_id))

    def get_gates(self, name: str) -> list[g.Gate]:
        return self.store.gates.get_gates(v.check_model_name(name))

    def delete_gate(self, name: str, alias: str | None = None, stage: str | Stage | None = None) -> None:
        kind, target = _target(alias, stage)
        self.store.gates.delete_gate(v.check_model_name(name), kind, target)

    def log_validation(
        self,
        name: str,
        version: int | str,
        results: Sequence[g.RuleResult],
        baseline_version: int | str | None = None,
        data_digest: str | None = None,
        metrics: dict[str, float] | None = None,
        report_uri: str | None = None,
        user_id: str | None = None,
    ) -> g.Validation:
        """Record a validation of ``version``; each rule's outcome is recomputed from its values."""
        checked = g.check_results(list(results))
        baseline = None if baseline_version in (None, "") else v.check_version(baseline_version)
        return self.store.gates.add_validation(
            v.check_model_name(name),
            v.check_version(version),
            checked,
            baseline,
            v.check_optional_text(data_digest, "data_digest", 128),
            _metrics(metrics),
            v.check_optional_text(report_uri, "report_uri", MAX_REPORT_URI_LENGTH),
            self._user(user_id),
        )

    def list_validations(
        self, name: str, version: int | str | None = None, max_results: int = 100
    ) -> list[g.Validation]:
        """Validations of the model (of one version when given), newest first."""
        return self.store.gates.list_validations(
            v.check_model_name(name),
            None if version is None else v.check_version(version),
            cv.check_max_results(max_results, MAX_VALIDATIONS_PAGE),
        )

    def drift_event(
        self,
        name: str,
        version: int | str,
        drifted: Sequence[str],
        failed_rules: Sequence[str],
        metrics: dict[str, float] | None,
        run_id: str | None,
    ) -> dict[str, object]:
        """The checked data of a ``model_version.drift_detected`` event: monitoring found ``drifted`` columns
        or ``failed_rules`` on an existing version."""
        name, number = v.check_model_name(name), v.check_version(version)
        self.store.get_model_version(name, number)
        if isinstance(drifted, str) or isinstance(failed_rules, str):
            raise InvalidParameter("drifted and failed_rules must be lists of names")
        return {
            "name": name,
            "version": str(number),
            "drifted": [cv.check_string(str(c), "drifted", 500) for c in drifted][:1000],
            "failed_rules": [str(r)[:500] for r in failed_rules][:100],
            "metrics": _metrics(metrics),
            "run_id": tv.check_run_id(run_id) if run_id else None,
        }
