"""What every endpoint requires of the caller, as a table, checked before the handler runs.

Each route names the resource it touches (an experiment, found directly or through a run or a logged
model; or a registered model, by name) and the action (read, update, delete, manage), with MLflow's
meaning: READ reads, EDIT also updates, MANAGE also deletes and grants; admins pass every check. A route
missing from the table is for admins only, so a new endpoint is closed until someone writes its rule.

Searches return only what the caller may read: experiment and run searches ask for readable experiments
only, and registered-model and model-version results are filtered by model (MLflow's server leaks
model versions here). The caller's identity replaces any ``user_id`` in the request, so runs and the
registry's audit history record who really called. The creator of an experiment or registered model
is granted MANAGE on it.

>>> RULES["/mlflow/runs/log-batch"]
Rule(resource='run', action='update', after=None)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import InvalidParameter
from dockyard.server.auth.entities import User

if TYPE_CHECKING:
    from dockyard.server.auth.service import AuthService
    from dockyard.server.context import ServerContext
    from dockyard.server.http import Params

Handler = Callable[["ServerContext", "Params"], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """``resource``: experiment, run, logged_model, registered_model (what the action applies to),
    experiment_ids / run_ids (each listed one), any (every signed-in user), proxy (checked by path in
    the middleware) or admin. ``after`` names a step on the result: a grant to the creator or a filter."""

    resource: str
    action: str = "read"
    after: str | None = None


_R, _U, _D, _M = "read", "update", "delete", "manage"

RULES: dict[str, Rule] = {
    # experiments
    "/mlflow/experiments/create": Rule("any", after="grant_experiment"),
    "/mlflow/experiments/get": Rule("experiment", _R),
    "/mlflow/experiments/get-by-name": Rule("experiment_name", _R),
    "/mlflow/experiments/search": Rule("any", after="filter_experiments"),
    "/mlflow/experiments/delete": Rule("experiment", _D),
    "/mlflow/experiments/restore": Rule("experiment", _D),
    "/mlflow/experiments/update": Rule("experiment", _U),
    "/mlflow/experiments/set-experiment-tag": Rule("experiment", _U),
    "/mlflow/experiments/delete-experiment-tag": Rule("experiment", _U),
    # runs and metrics
    "/mlflow/runs/create": Rule("experiment", _U),
    "/mlflow/runs/update": Rule("run", _U),
    "/mlflow/runs/delete": Rule("run", _D),
    "/mlflow/runs/restore": Rule("run", _D),
    "/mlflow/runs/get": Rule("run", _R),
    "/mlflow/runs/log-metric": Rule("run", _U),
    "/mlflow/runs/log-parameter": Rule("run", _U),
    "/mlflow/runs/set-tag": Rule("run", _U),
    "/mlflow/runs/delete-tag": Rule("run", _U),
    "/mlflow/runs/log-batch": Rule("run", _U),
    "/mlflow/runs/log-inputs": Rule("run", _U),
    "/mlflow/runs/log-model": Rule("run", _U),
    "/mlflow/runs/outputs": Rule("run", _U),
    "/mlflow/runs/search": Rule("experiment_ids", _R),
    "/mlflow/metrics/get-history": Rule("run", _R),
    "/dockyard/metrics/get-histories": Rule("run_ids", _R),
    "/dockyard/metrics/get-history-downsampled": Rule("run", _R),
    "/dockyard/experiments/run-stats": Rule("experiment_ids", _R),
    "/dockyard/experiments/keys": Rule("experiment_ids", _R),
    "/mlflow/artifacts/list": Rule("run", _R),
    # MLflow's UI calls: bulk histories (each run's experiment), datasets, downloads and its upload
    "/mlflow/metrics/get-history-bulk": Rule("run_ids", _R),
    "/mlflow/metrics/get-history-bulk-interval": Rule("run_ids", _R),
    "/mlflow/experiments/search-datasets": Rule("experiment_ids", _R),
    "/get-artifact": Rule("run", _R),
    "/mlflow/upload-artifact": Rule("run", _U),
    # logged models (their experiment's permission)
    "/mlflow/logged-models": Rule("experiment", _U),
    "/mlflow/logged-models/search": Rule("experiment_ids", _R),
    "/mlflow/logged-models/{model_id}": Rule("logged_model", _R),  # GET; PATCH and DELETE below
    "/mlflow/logged-models/{model_id}/tags": Rule("logged_model", _U),
    "/mlflow/logged-models/{model_id}/tags/{tag_key}": Rule("logged_model", _U),
    "/mlflow/logged-models/{model_id}/params": Rule("logged_model", _U),
    "/mlflow/logged-models/{model_id}/artifacts/directories": Rule("logged_model", _R),
    "/mlflow/logged-models/{model_id}/artifacts/files": Rule("logged_model", _R),
    # the registry
    "/mlflow/registered-models/create": Rule("any", after="grant_registered_model"),
    "/mlflow/registered-models/get": Rule("registered_model", _R),
    "/mlflow/registered-models/rename": Rule("registered_model", _U, after="rename_grants"),
    "/mlflow/registered-models/update": Rule("registered_model", _U),
    "/mlflow/registered-models/delete": Rule("registered_model", _D),
    "/mlflow/registered-models/search": Rule("any", after="filter_registered_models"),
    "/mlflow/registered-models/get-latest-versions": Rule("registered_model", _R),
    "/mlflow/registered-models/set-tag": Rule("registered_model", _U),
    "/mlflow/registered-models/delete-tag": Rule("registered_model", _U),
    "/mlflow/registered-models/alias": Rule("registered_model", _R),  # GET; POST and DELETE below
    "/mlflow/model-versions/create": Rule("registered_model", _U),
    "/mlflow/model-versions/get": Rule("registered_model", _R),
    "/mlflow/model-versions/update": Rule("registered_model", _U),
    "/mlflow/model-versions/delete": Rule("registered_model", _D),
    "/mlflow/model-versions/transition-stage": Rule("registered_model", _U),
    "/mlflow/model-versions/search": Rule("any", after="filter_model_versions"),
    "/mlflow/model-versions/get-download-uri": Rule("registered_model", _R),
    "/mlflow/model-versions/set-tag": Rule("registered_model", _U),
    "/mlflow/model-versions/delete-tag": Rule("registered_model", _D),
    "/model-versions/get-artifact": Rule("registered_model", _R),
    # Dockyard's registry extensions: promotion, rollback and the audit trail are the model's managers'
    "/dockyard/registry/events": Rule("registered_model", _M),
    "/dockyard/registry/promote": Rule("registered_model", _M),
    "/dockyard/registry/rollback": Rule("registered_model", _M),
    "/dockyard/registry/lineage": Rule("registered_model", _M),
    # validation gates: declaring one is the model's managers'; recording a validation is an edit
    # (promote --force past a gate is a promote: MANAGE, audited with its reason)
    "/dockyard/registry/gates/set": Rule("registered_model", _M),
    "/dockyard/registry/gates/delete": Rule("registered_model", _M),
    "/dockyard/registry/gates/get": Rule("registered_model", _R),
    "/dockyard/registry/gates/check": Rule("registered_model", _R),
    "/dockyard/registry/validations/create": Rule("registered_model", _U),
    "/dockyard/registry/validations/list": Rule("registered_model", _R),
    "/dockyard/registry/monitoring/drift": Rule("registered_model", _U),
    # Dockyard's version: open to everyone, as /version (the middleware lets it through unsigned)
    "/dockyard/version": Rule("any"),
    # the OpenAPI document of the whole API (server/openapi.py): any signed-in user
    "/api/openapi.json": Rule("any"),
    # the server's Prometheus metrics (server/metrics.py): any signed-in user, e.g. a scraper's token
    "/metrics": Rule("any"),
    # the artifact proxy: the experiment is the first segment of the path (checked in the middleware)
    "/mlflow-artifacts/artifacts": Rule("proxy"),
    "/mlflow-artifacts/artifacts/{path:path}": Rule("proxy"),
    "/mlflow-artifacts/mpu/create/{artifact_path:path}": Rule("proxy"),
    "/mlflow-artifacts/mpu/complete/{artifact_path:path}": Rule("proxy"),
    "/mlflow-artifacts/mpu/abort/{artifact_path:path}": Rule("proxy"),
    # webhooks are server-wide: admins only (also the default for routes not listed here)
}
# MLflow's user and permission API (server/auth/api.py): each handler checks its caller itself.
RULES.update(
    (path, Rule("any"))
    for path in (
        *(f"/mlflow/users/{verb}" for verb in ("create", "get", "list", "current", "update-password")),
        "/mlflow/users/update-admin",
        "/mlflow/users/delete",
        *(f"/mlflow/users/permissions/{verb}" for verb in ("grant", "revoke", "get", "list")),
        *(f"/mlflow/roles/{verb}" for verb in ("create", "get", "list", "update", "delete", "assign", "unassign")),
        *(f"/mlflow/roles/permissions/{verb}" for verb in ("add", "remove", "list", "update")),
        "/mlflow/roles/users/list",
        "/mlflow/users/roles/list",
        *(
            f"/mlflow/{resources}/permissions/{verb}"
            for resources in ("experiments", "registered-models")
            for verb in ("create", "get", "update", "delete")
        ),
    )
)

# The web UI's pages (server/ui/pages): each view checks its caller itself (UIRequest.require, .readable),
# and unauthenticated browsers are sent to /login by the middleware.
RULES.update(
    (path, Rule("any"))
    for path in (
        "/",
        "/login",
        "/logout",
        "/experiments/create",
        "/experiments/{experiment_id}",
        "/experiments/{experiment_id}/rename",
        "/experiments/{experiment_id}/delete",
        "/runs/{run_id}",
        "/runs/{run_id}/metric-history",
        "/runs/{run_id}/artifact",
        "/compare",
        "/compare/metric-histories",
        "/models",
        "/models/{name:path}/versions/{version}",
        "/models/{name:path}/promote",
        "/models/{name:path}/rollback",
        "/models/{name:path}",
        "/static/{path:path}",  # open: the middleware lets /static through unsigned
    )
)

# The same route with another method asks for more.
_BY_METHOD: dict[tuple[str, str], Rule] = {
    ("PATCH", "/mlflow/logged-models/{model_id}"): Rule("logged_model", _U),
    ("DELETE", "/mlflow/logged-models/{model_id}"): Rule("logged_model", _D),
    ("POST", "/mlflow/registered-models/alias"): Rule("registered_model", _U),
    ("DELETE", "/mlflow/registered-models/alias"): Rule("registered_model", _D),
}

ADMIN_ONLY = Rule("admin")


def rule_for(method: str, route: str) -> Rule:
    return _BY_METHOD.get((method, route)) or RULES.get(route) or ADMIN_ONLY


def guarded(
    handler: Handler, ctx: ServerContext, params: Params, *, method: str, route: str, user: User
) -> dict[str, Any]:
    """Run ``handler`` for ``user`` if the rule of ``route`` allows it (raises PermissionDenied else)."""
    auth = ctx.auth
    assert auth is not None  # noqa: S101  # endpoint() calls this only when the server runs with auth
    rule = rule_for(method, route)
    if user.is_admin or rule.resource in ("any", "proxy"):
        pass
    elif rule.resource == "admin":
        auth.require_admin(user)
    elif rule.resource == "experiment_ids":
        readable = auth.readable(user, "experiment")
        asked = [str(e) for e in params.items("experiment_ids")]
        allowed = [e for e in asked if readable(e)]
        if asked and not allowed:
            return _empty(route)
        params.data["experiment_ids"] = allowed
    elif rule.resource == "run_ids":  # run_ids, or a repeated run_id (get-history-bulk)
        for run_id in {str(r) for r in [*params.items("run_ids"), *params.items("run_id")]}:
            auth.require(user, "experiment", _experiment_of_run(ctx, run_id), rule.action)
    else:
        resource_type, resource_id = _resource(ctx, params, rule.resource)
        if resource_id is not None:  # None: the handler answers "not found" itself
            auth.require(user, resource_type, resource_id, rule.action)
    params.data["user_id"] = user.username  # who is recorded: the caller, never a name in the request
    params.caller = user
    result = handler(ctx, params)
    if rule.after is not None:
        result = _AFTER[rule.after](auth, user, params, result)
    return result


def _empty(route: str) -> dict[str, Any]:
    if route == "/dockyard/experiments/keys":
        return {"params": [], "metrics": [], "tags": [], "truncated": False}
    field = {"/mlflow/runs/search": "runs", "/mlflow/experiments/search-datasets": "dataset_summaries"}
    return {field.get(route, "models"): []}


def _resource(ctx: ServerContext, params: Params, kind: str) -> tuple[str, str | None]:
    if kind == "registered_model":
        return "registered_model", params.string("name", required=True)
    if kind == "experiment":
        return "experiment", params.string("experiment_id") or "0"
    if kind == "experiment_name":
        found = ctx.tracking.get_experiment_by_name(params.string("experiment_name", required=True))
        return "experiment", None if found is None else found.experiment_id
    if kind == "run":
        run_id = params.string("run_id") or params.string("run_uuid")
        if not run_id:
            raise InvalidParameter("Missing value for required parameter 'run_id'")
        return "experiment", _experiment_of_run(ctx, run_id)
    if kind == "logged_model":
        model_id = str(params.string("model_id", required=True))
        return "experiment", _auth(ctx).experiment_of(
            "logged_model", model_id, lambda: ctx.tracking.get_logged_model(model_id).experiment_id
        )
    raise AssertionError(f"no resource kind {kind!r}")  # a mistake in RULES, caught by the tests


def _experiment_of_run(ctx: ServerContext, run_id: str) -> str:
    return _auth(ctx).experiment_of("run", run_id, lambda: ctx.tracking.get_run(run_id).info.experiment_id)


def _auth(ctx: ServerContext) -> AuthService:
    assert ctx.auth is not None  # noqa: S101  # only called when the server runs with auth
    return ctx.auth


# ---------------------------------------------------------------------- after the handler


def _grant_experiment(auth: AuthService, user: User, _p: Params, result: dict[str, Any]) -> dict[str, Any]:
    auth.grant_creator(user, "experiment", str(result["experiment_id"]))
    return result


def _grant_registered_model(auth: AuthService, user: User, p: Params, result: dict[str, Any]) -> dict[str, Any]:
    auth.grant_creator(user, "registered_model", p.string("name", required=True))
    return result


def _rename_grants(auth: AuthService, _user: User, p: Params, result: dict[str, Any]) -> dict[str, Any]:
    auth.store.rename_registered_model(p.string("name", required=True), p.string("new_name", required=True))
    return result


def _filter(field: str, key: str, resource_type: str) -> Callable[[AuthService, User, Params, dict[str, Any]], Any]:
    def keep_readable(auth: AuthService, user: User, _p: Params, result: dict[str, Any]) -> dict[str, Any]:
        readable = auth.readable(user, resource_type)
        result[field] = [item for item in result.get(field, []) if readable(str(item[key]))]
        return result

    return keep_readable


_AFTER: dict[str, Callable[[AuthService, User, Params, dict[str, Any]], dict[str, Any]]] = {
    "grant_experiment": _grant_experiment,
    "grant_registered_model": _grant_registered_model,
    "rename_grants": _rename_grants,
    "filter_experiments": _filter("experiments", "experiment_id", "experiment"),
    "filter_registered_models": _filter("registered_models", "name", "registered_model"),
    "filter_model_versions": _filter("model_versions", "name", "registered_model"),
}


def proxy_action(method: str) -> str:
    """The action an artifact-proxy request needs on its experiment."""
    return {"GET": _R, "HEAD": _R, "PUT": _U, "POST": _U, "DELETE": _D}.get(method, _M)
