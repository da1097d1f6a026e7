"""MLflow's user and permission REST API, so ``AuthServiceClient`` (``mlflow.server.get_app_client(
"basic-auth", ...)``) and scripts written for ``mlflow server --app-name basic-auth`` work unchanged.

- ``/api/2.0/mlflow/users/{create,get,list,current,update-password,update-admin,delete}``
- ``/api/3.0/mlflow/users/permissions/{grant,revoke,get,list}`` with ``resource_type`` ``experiment`` or
  ``registered_model`` (MLflow 3.17's per-user grants)
- ``/api/3.0/mlflow/roles/{create,get,list,update,delete,assign,unassign}``,
  ``/api/3.0/mlflow/roles/permissions/{add,remove,list,update}``, ``/api/3.0/mlflow/roles/users/list`` and
  ``/api/3.0/mlflow/users/roles/list`` (MLflow 3's roles)
- ``/api/2.0/mlflow/{experiments,registered-models}/permissions/{create,get,update,delete}`` (the calls
  older clients make)

Admins manage users; a user reads and changes their own record (a new password needs the current
one); whoever may MANAGE an experiment or registered model grants permissions on it. Roles
(``/api/3.0/mlflow/roles/...``: named sets of permissions on one resource or ``*``, given to users) are
the admins'.
"""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import PermissionDenied, ResourceNotFound
from dockyard.server.auth.entities import Permission, Role, RoleAssignment, RolePermission, User
from dockyard.server.auth.service import AuthService, check_username
from dockyard.server.context import ServerContext
from dockyard.server.http import Params


def _auth(ctx: ServerContext) -> AuthService:
    assert ctx.auth is not None  # noqa: S101  # these routes exist only when the server runs with auth
    return ctx.auth


def _caller(p: Params) -> User:
    assert isinstance(p.caller, User)  # noqa: S101  # set by the policy before any handler runs
    return p.caller


def _user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "is_admin": user.is_admin}


def _self_or_admin(caller: User, username: str) -> None:
    if not caller.is_admin and caller.username != username:
        raise PermissionDenied(f"Permission denied: {caller.username} may not act on user {username!r}")


# ---------------------------------------------------------------------- users


def create_user(ctx: ServerContext, p: Params) -> dict[str, Any]:
    auth = _auth(ctx)
    auth.require_admin(_caller(p))
    user = auth.create_user(p.string("username", required=True), p.string("password", required=True))
    return {"user": _user_json(user)}


def get_user(ctx: ServerContext, p: Params) -> dict[str, Any]:
    username = check_username(p.string("username", required=True))
    _self_or_admin(_caller(p), username)
    return {"user": _user_json(_auth(ctx).get_user(username))}


def list_users(ctx: ServerContext, p: Params) -> dict[str, Any]:
    auth = _auth(ctx)
    auth.require_admin(_caller(p))
    return {"users": [_user_json(u) for u in auth.list_users()]}


def current_user(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return {"user": _user_json(_caller(p))}


def update_password(ctx: ServerContext, p: Params) -> dict[str, Any]:
    auth, caller = _auth(ctx), _caller(p)
    username = check_username(p.string("username", required=True))
    _self_or_admin(caller, username)
    if not caller.is_admin:  # a stolen session must not be enough to take over the account
        auth.check_password(username, p.string("current_password", required=True))
    auth.update_password(username, p.string("password", required=True))
    return {}


def update_admin(ctx: ServerContext, p: Params) -> dict[str, Any]:
    auth = _auth(ctx)
    auth.require_admin(_caller(p))
    auth.update_admin(p.string("username", required=True), p.boolean("is_admin"))
    return {}


def delete_user(ctx: ServerContext, p: Params) -> dict[str, Any]:
    auth = _auth(ctx)
    auth.require_admin(_caller(p))
    auth.delete_user(p.string("username", required=True))
    return {}


# ---------------------------------------------------------------------- grants


def _may_manage(ctx: ServerContext, p: Params, resource_type: str, resource_id: str) -> None:
    _auth(ctx).require(_caller(p), resource_type, resource_id, "manage")


def _target(p: Params) -> tuple[str, str]:
    resource_type = p.string("resource_type", required=True)
    return resource_type, p.string("resource_id", required=True)


def grant(ctx: ServerContext, p: Params) -> dict[str, Any]:
    resource_type, resource_id = _target(p)
    _may_manage(ctx, p, resource_type, resource_id)
    permission = Permission.parse(p.string("permission", required=True))
    _auth(ctx).grant(resource_type, resource_id, p.string("username", required=True), permission)
    return {}


def revoke(ctx: ServerContext, p: Params) -> dict[str, Any]:
    resource_type, resource_id = _target(p)
    _may_manage(ctx, p, resource_type, resource_id)
    _auth(ctx).revoke(resource_type, resource_id, p.string("username", required=True))
    return {}


def get_permission(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """The user's effective permission (their grant, else the default; MANAGE for admins)."""
    auth = _auth(ctx)
    resource_type, resource_id = _target(p)
    username = check_username(p.string("username", required=True))
    if _caller(p).username != username:
        _may_manage(ctx, p, resource_type, resource_id)
    permission = auth.permission(auth.get_user(username), resource_type, resource_id)
    return {"allowed": permission.can("read"), "permission": permission.value}


def list_permissions(ctx: ServerContext, p: Params) -> dict[str, Any]:
    username = check_username(p.string("username", required=True))
    _self_or_admin(_caller(p), username)
    return {
        "permissions": [
            {"resource_type": g.resource_type, "resource_id": g.resource_id, "permission": g.permission.value}
            for g in _auth(ctx).grants(username)
        ]
    }


def _per_resource(resource_type: str, key: str, field: str) -> dict[str, Any]:
    """The four handlers of ``/api/2.0/mlflow/<resources>/permissions/*`` for one resource type."""

    def ident(p: Params) -> str:
        return str(p.string(key, required=True))

    def envelope(ctx: ServerContext, p: Params) -> dict[str, Any]:
        auth = _auth(ctx)
        user = auth.get_user(p.string("username", required=True))
        permission = auth.get_grant(resource_type, ident(p), user.username)
        if permission is None:
            raise ResourceNotFound(f"{user.username} holds no grant on {resource_type} {ident(p)!r}")
        value: Any = int(ident(p)) if resource_type == "experiment" else ident(p)
        return {field: {key: value, "user_id": user.id, "permission": permission.value}}

    def create(ctx: ServerContext, p: Params) -> dict[str, Any]:
        _may_manage(ctx, p, resource_type, ident(p))
        permission = Permission.parse(p.string("permission", required=True))
        _auth(ctx).grant(resource_type, ident(p), p.string("username", required=True), permission)
        return envelope(ctx, p)

    def get(ctx: ServerContext, p: Params) -> dict[str, Any]:
        if _caller(p).username != p.string("username", required=True):
            _may_manage(ctx, p, resource_type, ident(p))
        return envelope(ctx, p)

    def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
        _may_manage(ctx, p, resource_type, ident(p))
        _auth(ctx).revoke(resource_type, ident(p), p.string("username", required=True))
        return {}

    return {"create": create, "get": get, "update": create, "delete": delete}


# ---------------------------------------------------------------------- roles (admins)


def _role_json(role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "workspace": role.workspace,
        "description": role.description,
        "permissions": [_role_permission_json(p) for p in role.permissions],
    }


def _role_permission_json(p: RolePermission) -> dict[str, Any]:
    return {
        "id": p.id,
        "role_id": p.role_id,
        "resource_type": p.resource_type,
        "resource_pattern": p.resource_pattern,
        "permission": p.permission,
    }


def _assignment_json(a: RoleAssignment) -> dict[str, Any]:
    return {"id": a.id, "user_id": a.user_id, "role_id": a.role_id}


def _admin(ctx: ServerContext, p: Params) -> AuthService:
    auth = _auth(ctx)
    auth.require_admin(_caller(p))
    return auth


def _role_id(p: Params, field: str = "role_id") -> int:
    return int(p.integer(field, required=True))


def create_role(ctx: ServerContext, p: Params) -> dict[str, Any]:
    role = _admin(ctx, p).create_role(p.string("workspace"), p.string("name", required=True), p.string("description"))
    return {"role": _role_json(role)}


def get_role(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return {"role": _role_json(_admin(ctx, p).store.get_role(_role_id(p)))}


def list_roles(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return {"roles": [_role_json(r) for r in _admin(ctx, p).store.list_roles(p.string("workspace"))]}


def update_role(ctx: ServerContext, p: Params) -> dict[str, Any]:
    role = _admin(ctx, p).store.update_role(_role_id(p), name=p.string("name"), description=p.string("description"))
    return {"role": _role_json(role)}


def delete_role(ctx: ServerContext, p: Params) -> dict[str, Any]:
    _admin(ctx, p).store.delete_role(_role_id(p))
    return {}


def add_role_permission(ctx: ServerContext, p: Params) -> dict[str, Any]:
    added = _admin(ctx, p).add_role_permission(
        _role_id(p),
        p.string("resource_type", required=True),
        p.string("resource_pattern", required=True),
        p.string("permission", required=True),
    )
    return {"role_permission": _role_permission_json(added)}


def remove_role_permission(ctx: ServerContext, p: Params) -> dict[str, Any]:
    _admin(ctx, p).store.remove_role_permission(_role_id(p, "role_permission_id"))
    return {}


def list_role_permissions(ctx: ServerContext, p: Params) -> dict[str, Any]:
    role = _admin(ctx, p).store.get_role(_role_id(p))
    return {"role_permissions": [_role_permission_json(x) for x in role.permissions]}


def update_role_permission(ctx: ServerContext, p: Params) -> dict[str, Any]:
    updated = _admin(ctx, p).update_role_permission(
        _role_id(p, "role_permission_id"), p.string("permission", required=True)
    )
    return {"role_permission": _role_permission_json(updated)}


def assign_role(ctx: ServerContext, p: Params) -> dict[str, Any]:
    assignment = _admin(ctx, p).assign_role(p.string("username", required=True), _role_id(p))
    return {"assignment": _assignment_json(assignment)}


def unassign_role(ctx: ServerContext, p: Params) -> dict[str, Any]:
    _admin(ctx, p).unassign_role(p.string("username", required=True), _role_id(p))
    return {}


def list_user_roles(ctx: ServerContext, p: Params) -> dict[str, Any]:
    username = check_username(p.string("username", required=True))
    _self_or_admin(_caller(p), username)
    return {"roles": [_role_json(r) for r in _auth(ctx).user_roles(username)]}


def list_role_users(ctx: ServerContext, p: Params) -> dict[str, Any]:
    return {"assignments": [_assignment_json(a) for a in _admin(ctx, p).role_users(_role_id(p))]}


_EXPERIMENTS = _per_resource("experiment", "experiment_id", "experiment_permission")
_MODELS = _per_resource("registered_model", "name", "registered_model_permission")

ROUTES = [
    ("POST", "/mlflow/users/create", create_user),
    ("GET", "/mlflow/users/get", get_user),
    ("GET", "/mlflow/users/list", list_users),
    ("GET", "/mlflow/users/current", current_user),
    ("PATCH", "/mlflow/users/update-password", update_password),
    ("PATCH", "/mlflow/users/update-admin", update_admin),
    ("DELETE", "/mlflow/users/delete", delete_user),
    *[
        (method, f"/mlflow/{resources}/permissions/{verb}", handlers[verb])
        for resources, handlers in (("experiments", _EXPERIMENTS), ("registered-models", _MODELS))
        for method, verb in (("POST", "create"), ("GET", "get"), ("PATCH", "update"), ("DELETE", "delete"))
    ],
]

ROUTES_V3 = [
    ("POST", "/mlflow/users/permissions/grant", grant),
    ("POST", "/mlflow/users/permissions/revoke", revoke),
    ("GET", "/mlflow/users/permissions/get", get_permission),
    ("GET", "/mlflow/users/permissions/list", list_permissions),
    ("POST", "/mlflow/roles/create", create_role),
    ("GET", "/mlflow/roles/get", get_role),
    ("GET", "/mlflow/roles/list", list_roles),
    ("PATCH", "/mlflow/roles/update", update_role),
    ("DELETE", "/mlflow/roles/delete", delete_role),
    ("POST", "/mlflow/roles/assign", assign_role),
    ("DELETE", "/mlflow/roles/unassign", unassign_role),
    ("POST", "/mlflow/roles/permissions/add", add_role_permission),
    ("DELETE", "/mlflow/roles/permissions/remove", remove_role_permission),
    ("GET", "/mlflow/roles/permissions/list", list_role_permissions),
    ("PATCH", "/mlflow/roles/permissions/update", update_role_permission),
    ("GET", "/mlflow/roles/users/list", list_role_users),
    ("GET", "/mlflow/users/roles/list", list_user_roles),
]

# Every route above checks its caller itself.
PATHS = frozenset(path for _method, path, _handler in ROUTES + ROUTES_V3)
