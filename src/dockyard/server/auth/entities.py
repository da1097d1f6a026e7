"""Users, API tokens and permission levels. Frozen dataclasses, no I/O.

>>> Permission.parse("edit").can("update"), Permission.READ.can("update")
(True, False)
>>> Permission.MANAGE.can("delete")
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dockyard.core.errors import InvalidParameter

ACTIONS = ("read", "update", "delete", "manage")


class Permission(enum.StrEnum):
    """MLflow's levels: READ reads; EDIT reads and updates; MANAGE also deletes and grants."""

    READ = "READ"
    EDIT = "EDIT"
    MANAGE = "MANAGE"
    NO_PERMISSIONS = "NO_PERMISSIONS"

    @classmethod
    def parse(cls, value: object, field: str = "permission") -> Permission:
        if isinstance(value, str):
            try:
                return cls(value.upper())
            except ValueError:
                pass
        names = ", ".join(p.value for p in cls)
        raise InvalidParameter(f"{field}: {value!r} is not a permission (one of {names})")

    def can(self, action: str) -> bool:
        return action in _CAN[self]


_CAN: dict[Permission, frozenset[str]] = {
    Permission.READ: frozenset({"read"}),
    Permission.EDIT: frozenset({"read", "update"}),
    Permission.MANAGE: frozenset(ACTIONS),
    Permission.NO_PERMISSIONS: frozenset(),
}


@dataclass(frozen=True, slots=True)
class User:
    """Someone who can sign in. ``password_hash`` never leaves the server."""

    id: int
    username: str
    is_admin: bool
    password_hash: str = ""


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token's record; the secret itself is shown once, at creation, and stored only hashed."""

    token_id: str
    username: str
    name: str
    creation_time: int
    expiry_time: int | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class Grant:
    """One user's permission on one experiment or registered model."""

    resource_type: str  # "experiment" or "registered_model"
    resource_id: str  # the experiment id, or the registered model's name
    username: str
    user_id: int
    permission: Permission


# A role may grant these on a resource pattern: MLflow's USE tier reads here (Dockyard has no separate
# USE actions), and DENY removes what the user's other roles give on the same resources.
ROLE_PERMISSIONS = ("READ", "USE", "EDIT", "MANAGE", "DENY")


@dataclass(frozen=True, slots=True)
class RolePermission:
    id: int
    role_id: int
    resource_type: str  # "experiment" or "registered_model"
    resource_pattern: str  # one id or name, or "*" for every resource of the type
    permission: str  # one of ROLE_PERMISSIONS


@dataclass(frozen=True, slots=True)
class Role:
    id: int
    workspace: str
    name: str
    description: str | None
    permissions: tuple[RolePermission, ...] = ()


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    id: int
    user_id: int
    role_id: int
