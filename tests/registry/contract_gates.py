"""The gates contract: validation gates and validation records, on every implementation of the registry.

Mixed into the registry test classes of ``test_service.py`` (local, SQLite and PostgreSQL) and
``test_remote.py`` (the HTTP client against the in-process server), so the server enforces exactly what
the local service does.
"""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.core.errors import (
    GateRefused,
    InvalidParameter,
    InvalidState,
    RegisteredModelNotFound,
    ResourceNotFound,
)
from dockyard.registry.entities import Stage
from dockyard.registry.gates import RuleResult

S3 = "s3://bucket/model"


def _model(registry: Any, name: str, versions: int) -> None:
    registry.create_registered_model(name)
    for _ in range(versions):
        registry.create_model_version(name, S3)


def _ok(rule: str, value: float, baseline_value: float | None = None) -> RuleResult:
    return RuleResult(rule, value, baseline_value)


class GatesContract:
    def test_a_gate_is_stored_canonical_and_shown(self, registry: Any) -> None:
        _model(registry, "g-show", 1)
        gate = registry.set_gate("g-show", ["roc_auc>=0.80", "roc_auc >= baseline-0.005"], alias="champion")
        assert (gate.kind, gate.target, gate.rules) == (
            "alias",
            "champion",
            ("roc_auc >= 0.8", "roc_auc >= baseline - 0.005"),
        )
        registry.set_gate("g-show", ["p95_latency_ms <= 20"], stage="production")
        shown = registry.get_gates("g-show")
        assert [(x.kind, x.target, x.rules) for x in shown] == [
            ("alias", "champion", ("roc_auc >= 0.8", "roc_auc >= baseline - 0.005")),
            ("stage", "Production", ("p95_latency_ms <= 20",)),
        ]
        replaced = registry.set_gate("g-show", ["accuracy > 0.5"], alias="champion")
        assert replaced.rules == ("accuracy > 0.5",) and replaced.creation_timestamp == gate.creation_timestamp
        registry.delete_gate("g-show", alias="champion")
        assert [x.target for x in registry.get_gates("g-show")] == ["Production"]
        with pytest.raises(ResourceNotFound, match="champion"):
            registry.delete_gate("g-show", alias="champion")

    def test_bad_gates_are_refused_with_the_position(self, registry: Any) -> None:
        _model(registry, "g-bad", 1)
        with pytest.raises(InvalidParameter, match=r"expected a comparison .* at position 8, found '=>'"):
            registry.set_gate("g-bad", ["roc_auc => 0.7"], alias="champion")
        with pytest.raises(InvalidParameter, match="expected a number at position 21, found the end"):
            registry.set_gate("g-bad", ["roc_auc >= baseline -"], alias="champion")
        with pytest.raises(InvalidParameter, match="at least one rule"):
            registry.set_gate("g-bad", [], alias="champion")
        with pytest.raises(InvalidParameter, match="exactly one of alias and stage"):
            registry.set_gate("g-bad", ["roc_auc >= 0.7"])
        with pytest.raises(InvalidParameter, match="stage"):
            registry.set_gate("g-bad", ["roc_auc >= 0.7"], stage="Live")
        with pytest.raises(RegisteredModelNotFound):
            registry.set_gate("g-none", ["roc_auc >= 0.7"], alias="champion")
        assert registry.get_gates("g-bad") == []

    def test_a_version_without_a_validation_is_refused_naming_the_missing_rule(self, registry: Any) -> None:
        _model(registry, "g-missing", 2)
        registry.set_gate("g-missing", ["roc_auc >= 0.8"], alias="champion")
        with pytest.raises(
            GateRefused, match=r"rule 'roc_auc >= 0.8' of alias 'champion': version 1 has no validation"
        ) as info:
            registry.set_registered_model_alias("g-missing", "champion", 1)
        assert isinstance(info.value, InvalidState) and info.value.error_code == "INVALID_STATE"
        assert registry.get_registered_model("g-missing").aliases == {}
        registry.set_registered_model_alias("g-missing", "shadow", 1)  # other aliases are not gated

    def test_a_failing_validation_is_refused_and_a_passing_one_promoted(self, registry: Any) -> None:
        _model(registry, "g-pass", 2)
        registry.set_gate("g-pass", ["roc_auc >= 0.8", "p95_latency_ms <= 20"], alias="champion")
        failed = registry.log_validation("g-pass", 1, [_ok("roc_auc >= 0.8", 0.71), _ok("p95_latency_ms <= 20", 3.0)])
        assert failed.passed is False and [r.passed for r in failed.results] == [False, True]
        with pytest.raises(GateRefused, match=r"rule 'roc_auc >= 0.8' of alias 'champion' failed: roc_auc = 0.71"):
            registry.set_registered_model_alias("g-pass", "champion", 1)
        passed = registry.log_validation(
            "g-pass", 2, [_ok("roc_auc >= 0.8", 0.85), _ok("p95_latency_ms <= 20", 4.0)], data_digest="abc"
        )
        assert passed.passed and passed.data_digest == "abc" and passed.user_id
        registry.set_registered_model_alias("g-pass", "champion", 2)
        assert registry.get_model_version_by_alias("g-pass", "champion").version == 2
        assert registry.check_gate("g-pass", 1, alias="champion").problems[0].startswith("rule 'roc_auc >= 0.8'")
        assert registry.check_gate("g-pass", 2, alias="champion").passed

    def test_the_registry_recomputes_each_outcome_from_the_values(self, registry: Any) -> None:
        _model(registry, "g-lie", 1)
        recorded = registry.log_validation("g-lie", 1, [RuleResult("roc_auc >= 0.8", 0.5, None, passed=True)])
        assert recorded.passed is False and recorded.results[0].passed is False
        missing = registry.log_validation("g-lie", 1, [RuleResult("roc_auc >= 0.8", None, detail="no labels")])
        assert missing.passed is False and missing.results[0].detail == "no labels"
        with pytest.raises(InvalidParameter, match="rule"):
            registry.log_validation("g-lie", 1, [RuleResult("roc_auc >> 0.8", 0.9)])
        with pytest.raises(InvalidParameter, match="results"):
            registry.log_validation("g-lie", 1, [])

    def test_baseline_rules_compare_with_the_current_holder(self, registry: Any) -> None:
        _model(registry, "g-base", 3)
        rule = "roc_auc >= baseline - 0.005"
        registry.set_gate("g-base", ["roc_auc >= 0.8", rule], alias="champion")
        # The first champion has no baseline: only the absolute rule is required.
        registry.log_validation("g-base", 1, [_ok("roc_auc >= 0.8", 0.82)])
        registry.set_registered_model_alias("g-base", "champion", 1)
        # Version 2, validated against version 1, is a little worse but within the margin.
        registry.log_validation("g-base", 2, [_ok("roc_auc >= 0.8", 0.818), _ok(rule, 0.818, 0.82)], baseline_version=1)
        # Version 3 is worse than version 1 by more than the margin.
        registry.log_validation("g-base", 3, [_ok("roc_auc >= 0.8", 0.81), _ok(rule, 0.81, 0.82)], baseline_version=1)
        with pytest.raises(
            GateRefused,
            match=r"rule 'roc_auc >= baseline - 0.005' of alias 'champion' failed: roc_auc = 0.81, bound 0.815",
        ):
            registry.set_registered_model_alias("g-base", "champion", 3)
        registry.set_registered_model_alias("g-base", "champion", 2)
        # A validation against version 1 no longer counts once version 2 holds the alias.
        registry.log_validation("g-base", 3, [_ok("roc_auc >= 0.8", 0.9), _ok(rule, 0.9, 0.82)], baseline_version=1)
        with pytest.raises(GateRefused, match="validated against version 1, but version 2 holds 'champion'"):
            registry.set_registered_model_alias("g-base", "champion", 3)
        registry.log_validation("g-base", 3, [_ok("roc_auc >= 0.8", 0.9), _ok(rule, 0.9, 0.818)], baseline_version=2)
        registry.set_registered_model_alias("g-base", "champion", 3)
        assert [x.version for x in registry.list_validations("g-base", 3)] == [3, 3, 3]
        assert registry.list_validations("g-base", 3)[0].baseline_version == 2
        assert len(registry.list_validations("g-base")) == 5

    def test_stage_gates_guard_transitions_and_promotions(self, registry: Any) -> None:
        _model(registry, "g-stage", 2)
        registry.set_gate("g-stage", ["accuracy >= 0.9"], stage="Production")
        registry.transition_model_version_stage("g-stage", 1, "Staging")  # not gated
        with pytest.raises(GateRefused, match="stage 'Production'"):
            registry.transition_model_version_stage("g-stage", 1, "Production")
        with pytest.raises(GateRefused, match="stage 'Production'"):
            registry.promote("g-stage", 1, alias="any", stage="Production")
        assert registry.get_registered_model("g-stage").aliases == {}  # nothing moved
        registry.log_validation("g-stage", 2, [_ok("accuracy >= 0.9", 0.95)])
        assert registry.promote("g-stage", 2, stage="Production").current_stage == Stage.PRODUCTION

    def test_a_forced_promotion_needs_a_reason_and_is_audited(self, registry: Any) -> None:
        _model(registry, "g-force", 1)
        registry.set_gate("g-force", ["roc_auc >= 0.8"], alias="champion")
        with pytest.raises(InvalidParameter, match="reason"):
            registry.promote("g-force", 1, alias="champion", force=True)
        with pytest.raises(GateRefused):
            registry.promote("g-force", 1, alias="champion", reason="hotfix")
        registry.promote("g-force", 1, alias="champion", reason="hotfix for incident 42", force=True)
        event = list(registry.get_registry_events("g-force", alias="champion"))[-1]
        assert event.to_version == 1
        assert event.reason.startswith("forced past the gate (rule 'roc_auc >= 0.8' of alias 'champion'")
        assert event.reason.endswith(": hotfix for incident 42")

    def test_gates_follow_a_rename_and_go_with_the_model(self, registry: Any) -> None:
        _model(registry, "g-old", 1)
        registry.set_gate("g-old", ["roc_auc >= 0.8"], alias="champion")
        registry.log_validation("g-old", 1, [_ok("roc_auc >= 0.8", 0.9)])
        registry.rename_registered_model("g-old", "g-new")
        assert [x.name for x in registry.get_gates("g-new")] == ["g-new"]
        assert registry.list_validations("g-new", 1)[0].name == "g-new"
        registry.set_registered_model_alias("g-new", "champion", 1)
        registry.delete_registered_model("g-new")
        _model(registry, "g-new", 1)
        assert registry.get_gates("g-new") == [] and registry.list_validations("g-new") == []

    def test_a_drift_report_needs_a_live_version(self, registry: Any) -> None:
        _model(registry, "g-drift", 1)
        registry.report_drift("g-drift", 1, drifted=["income"], metrics={"max_psi": 0.4})
        with pytest.raises(ResourceNotFound):
            registry.report_drift("g-drift", 2, drifted=["income"])
        with pytest.raises(InvalidParameter, match="metrics"):
            registry.report_drift("g-drift", 1, metrics={"max_psi": "high"})
