"""Validation gates, validation records and monitoring alarms (``/api/2.0/dockyard/registry/gates/...``,
``.../validations/...``, ``.../monitoring/drift``): Dockyard's own calls, MLflow has none.
Handlers: parse -> one registry call -> encode.

The gate itself is enforced by the registry service on every alias move and stage transition, MLflow's
endpoints included; these calls only declare gates and record validations. Setting or deleting a gate
needs MANAGE on the model, recording a validation EDIT, reading either READ (see ``server/auth/policy.py``).
"""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.registry import gates
from dockyard.server.api.registered_models import registry
from dockyard.server.context import ServerContext
from dockyard.server.http import Params

VALIDATIONS_DEFAULT = 100


def _target(p: Params) -> dict[str, Any]:
    return {"alias": p.string("alias") or None, "stage": p.string("stage") or None}


def set_gate(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``name``, ``alias`` or ``stage``, ``rules[]``."""
    rules = p.raw("rules")
    if not isinstance(rules, list):
        raise InvalidParameter("rules must be a list of rules such as ['roc_auc >= 0.8']")
    gate = registry(ctx).set_gate(
        p.string("name", required=True), rules, **_target(p), user_id=p.string("user_id") or None
    )
    return {"gate": gates.encode_gate(gate)}


def get_gates(ctx: ServerContext, p: Params) -> dict[str, Any]:
    found = registry(ctx).get_gates(p.string("name", required=True))
    return {"gates": [gates.encode_gate(g) for g in found]}


def delete_gate(ctx: ServerContext, p: Params) -> dict[str, Any]:
    registry(ctx).delete_gate(p.string("name", required=True), **_target(p))
    return {}


def check_gate(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``name``, ``version``, ``alias`` or ``stage``: whether the version may move there now."""
    found = registry(ctx).check_gate(p.string("name", required=True), p.string("version", required=True), **_target(p))
    return {"check": gates.encode_check(found)}


def create_validation(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``name``, ``version``, ``results[]`` ({rule, value, baseline_value, detail}), ``baseline_version``,
    ``data_digest``, ``metrics`` (an object), ``report_uri``."""
    raw = p.raw("results")
    if not isinstance(raw, list):
        raise InvalidParameter("results must be a list of rule results")
    validation = registry(ctx).log_validation(
        p.string("name", required=True),
        p.string("version", required=True),
        [gates.decode_result(r) for r in raw],
        baseline_version=p.string("baseline_version") or None,
        data_digest=p.string("data_digest"),
        metrics=p.raw("metrics"),
        report_uri=p.string("report_uri"),
        user_id=p.string("user_id") or None,
    )
    return {"validation": gates.encode_validation(validation)}


def list_validations(ctx: ServerContext, p: Params) -> dict[str, Any]:
    found = registry(ctx).list_validations(
        p.string("name", required=True),
        p.string("version") or None,
        max_results=p.integer("max_results", default=VALIDATIONS_DEFAULT),
    )
    return {"validations": [gates.encode_validation(x) for x in found]}


def report_drift(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``name``, ``version``, ``drifted[]``, ``failed_rules[]``, ``metrics``, ``run_id``: a monitoring alarm,
    sent to the webhooks as ``model_version.drift_detected``."""
    registry(ctx).report_drift(
        p.string("name", required=True),
        p.string("version", required=True),
        drifted=[str(c) for c in p.items("drifted")],
        failed_rules=[str(r) for r in p.items("failed_rules")],
        metrics=p.raw("metrics"),
        run_id=p.string("run_id") or None,
    )
    return {}


ROUTES = [
    ("POST", "/dockyard/registry/gates/set", set_gate),
    ("GET", "/dockyard/registry/gates/get", get_gates),
    ("DELETE", "/dockyard/registry/gates/delete", delete_gate),
    ("GET", "/dockyard/registry/gates/check", check_gate),
    ("POST", "/dockyard/registry/validations/create", create_validation),
    ("GET", "/dockyard/registry/validations/list", list_validations),
    ("POST", "/dockyard/registry/monitoring/drift", report_drift),
]
