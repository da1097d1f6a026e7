"""The SQL store of users, per-user grants and API tokens (tables of migration 0005).

It keeps rows; the rules (hashing, defaults, who may do what) are :class:`~.service.AuthService`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from dockyard.core.clock import now_ms
from dockyard.core.errors import InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from dockyard.db import Database
from dockyard.db import tables as t
from dockyard.server.auth.entities import ApiToken, Grant, Permission, Role, RoleAssignment, RolePermission, User

# resource type -> (table, the column naming the resource)
_GRANT_TABLES: dict[str, tuple[sa.Table, sa.Column[Any]]] = {
    "experiment": (t.experiment_permissions, t.experiment_permissions.c.experiment_id),
    "registered_model": (t.registered_model_permissions, t.registered_model_permissions.c.name),
}


def _grant_table(resource_type: str) -> tuple[sa.Table, sa.Column[Any]]:
    try:
        return _GRANT_TABLES[resource_type]
    except KeyError:
        raise InvalidParameter(
            f"resource_type: {resource_type!r} is not supported (use experiment or registered_model)"
        ) from None


def _key(resource_type: str, resource_id: str) -> Any:
    if resource_type == "experiment":
        if not (resource_id.isascii() and resource_id.isdigit()):
            raise InvalidParameter(f"resource_id: {resource_id!r} is not an experiment id")
        return int(resource_id)
    return resource_id


def _user(row: Any) -> User:
    return User(row.id, row.username, bool(row.is_admin), row.password_hash)


class SqlAuthStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Bumped by every write of this process: caches of the service built on an older version are stale.
        self.version = 0

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self.db.write() as conn:
            yield conn
        self.version += 1

    # ------------------------------------------------------------------ users

    def create_user(self, username: str, password_hash: str, is_admin: bool) -> User:
        with self._write() as conn:
            if conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).first():
                raise ResourceAlreadyExists(f"User {username!r} already exists")
            row = conn.execute(
                t.users.insert()
                .values(username=username, password_hash=password_hash, is_admin=is_admin, creation_time=now_ms())
                .returning(t.users.c.id)
            ).one()
        return User(row.id, username, is_admin, password_hash)

    def find_user(self, username: str) -> User | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).first()
        return None if row is None else _user(row)

    def get_user(self, username: str) -> User:
        user = self.find_user(username)
        if user is None:
            raise ResourceNotFound(f"User {username!r} not found")
        return user

    def list_users(self) -> list[User]:
        with self.db.read() as conn:
            return [_user(r) for r in conn.execute(sa.select(t.users).order_by(t.users.c.username))]

    def count_users(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar_one())

    def update_user(self, username: str, *, password_hash: str | None = None, is_admin: bool | None = None) -> None:
        values: dict[str, Any] = {}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if is_admin is not None:
            values["is_admin"] = is_admin
        with self._write() as conn:
            done = conn.execute(t.users.update().where(t.users.c.username == username).values(**values))
        if done.rowcount == 0:
            raise ResourceNotFound(f"User {username!r} not found")

    def delete_user(self, username: str) -> None:
        with self._write() as conn:
            row = conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).first()
            if row is None:
                raise ResourceNotFound(f"User {username!r} not found")
            # Explicit, not ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
            for table in (t.experiment_permissions, t.registered_model_permissions, t.api_tokens, t.user_roles):
                conn.execute(table.delete().where(table.c.user_id == row.id))
            conn.execute(t.users.delete().where(t.users.c.id == row.id))

    # ------------------------------------------------------------------ grants

    def permission(self, resource_type: str, resource_id: str, user_id: int) -> Permission | None:
        table, column = _grant_table(resource_type)
        with self.db.read() as conn:
            value = conn.execute(
                sa.select(table.c.permission).where(
                    column == _key(resource_type, resource_id), table.c.user_id == user_id
                )
            ).scalar_one_or_none()
        return None if value is None else Permission(value)

    def permissions_of(self, resource_type: str, user_id: int) -> dict[str, Permission]:
        """Every grant the user holds on resources of one type (search filtering reads them at once)."""
        table, column = _grant_table(resource_type)
        with self.db.read() as conn:
            rows = conn.execute(sa.select(column, table.c.permission).where(table.c.user_id == user_id))
            return {str(r[0]): Permission(r[1]) for r in rows}

    def set_permission(
        self, resource_type: str, resource_id: str, user_id: int, permission: Permission, *, create_only: bool = False
    ) -> None:
        table, column = _grant_table(resource_type)
        key = _key(resource_type, resource_id)
        insert = self.db.upsert(table).values({column.name: key, "user_id": user_id, "permission": permission.value})
        statement = (
            insert.on_conflict_do_nothing()
            if create_only
            else insert.on_conflict_do_update(index_elements=[column.name, "user_id"], set_={"permission": permission})
        )
        with self._write() as conn:
            conn.execute(statement)

    def delete_permission(self, resource_type: str, resource_id: str, user_id: int) -> bool:
        table, column = _grant_table(resource_type)
        with self._write() as conn:
            done = conn.execute(
                table.delete().where(column == _key(resource_type, resource_id), table.c.user_id == user_id)
            )
        return bool(done.rowcount)

    def rename_registered_model(self, name: str, new_name: str) -> None:
        """Grants follow a registered model to its new name."""
        table = t.registered_model_permissions
        with self._write() as conn:
            conn.execute(table.update().where(table.c.name == name).values(name=new_name))

    def grants(self, username: str) -> list[Grant]:
        user = self.get_user(username)
        out: list[Grant] = []
        with self.db.read() as conn:
            for resource_type, (table, column) in _GRANT_TABLES.items():
                for row in conn.execute(sa.select(column, table.c.permission).where(table.c.user_id == user.id)):
                    out.append(Grant(resource_type, str(row[0]), username, user.id, Permission(row[1])))
        return out

    # ------------------------------------------------------------------ tokens

    def create_token(self, token_id: str, user_id: int, name: str, secret_hash: str, expiry_time: int | None) -> None:
        with self._write() as conn:
            conn.execute(
                t.api_tokens.insert().values(
                    token_id=token_id,
                    user_id=user_id,
                    name=name,
                    secret_hash=secret_hash,
                    creation_time=now_ms(),
                    expiry_time=expiry_time,
                    revoked=False,
                )
            )

    def find_token(self, token_id: str) -> tuple[User, str, int | None, bool] | None:
        """The token's user, secret hash, expiry and revoked flag."""
        tok, users = t.api_tokens, t.users
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(users, tok.c.secret_hash, tok.c.expiry_time, tok.c.revoked)
                .join(users, users.c.id == tok.c.user_id)
                .where(tok.c.token_id == token_id)
            ).first()
        return None if row is None else (_user(row), row.secret_hash, row.expiry_time, bool(row.revoked))

    def list_tokens(self, username: str | None = None) -> list[ApiToken]:
        tok, users = t.api_tokens, t.users
        query = (
            sa.select(tok, users.c.username)
            .join(users, users.c.id == tok.c.user_id)
            .order_by(tok.c.creation_time, tok.c.token_id)
        )
        if username is not None:
            query = query.where(users.c.username == username)
        with self.db.read() as conn:
            return [
                ApiToken(r.token_id, r.username, r.name, r.creation_time, r.expiry_time, bool(r.revoked))
                for r in conn.execute(query)
            ]

    def revoke_token(self, token_id: str) -> None:
        with self._write() as conn:
            done = conn.execute(t.api_tokens.update().where(t.api_tokens.c.token_id == token_id).values(revoked=True))
        if done.rowcount == 0:
            raise ResourceNotFound(f"Token {token_id!r} not found")

    # ------------------------------------------------------------------ roles

    def _role_permissions(self, conn: sa.Connection, role_ids: list[int]) -> dict[int, list[RolePermission]]:
        rp = t.role_permissions
        out: dict[int, list[RolePermission]] = {i: [] for i in role_ids}
        if role_ids:
            for r in conn.execute(sa.select(rp).where(rp.c.role_id.in_(role_ids)).order_by(rp.c.id)):
                out[r.role_id].append(
                    RolePermission(r.id, r.role_id, r.resource_type, r.resource_pattern, r.permission)
                )
        return out

    def _roles(self, conn: sa.Connection, query: sa.Select[Any]) -> list[Role]:
        rows = list(conn.execute(query))
        perms = self._role_permissions(conn, [r.id for r in rows])
        return [Role(r.id, r.workspace, r.name, r.description, tuple(perms[r.id])) for r in rows]

    def create_role(self, workspace: str, name: str, description: str | None) -> Role:
        with self._write() as conn:
            exists = conn.execute(
                sa.select(t.roles.c.id).where(t.roles.c.workspace == workspace, t.roles.c.name == name)
            ).first()
            if exists:
                raise ResourceAlreadyExists(f"Role {name!r} already exists in workspace {workspace!r}")
            row = conn.execute(
                t.roles.insert().values(workspace=workspace, name=name, description=description).returning(t.roles.c.id)
            ).one()
        return Role(row.id, workspace, name, description)

    def get_role(self, role_id: int) -> Role:
        with self.db.read() as conn:
            found = self._roles(conn, sa.select(t.roles).where(t.roles.c.id == role_id))
        if not found:
            raise ResourceNotFound(f"Role {role_id} not found")
        return found[0]

    def list_roles(self, workspace: str | None = None) -> list[Role]:
        query = sa.select(t.roles).order_by(t.roles.c.workspace, t.roles.c.name)
        if workspace is not None:
            query = query.where(t.roles.c.workspace == workspace)
        with self.db.read() as conn:
            return self._roles(conn, query)

    def update_role(self, role_id: int, *, name: str | None, description: str | None) -> Role:
        values = {k: v for k, v in (("name", name), ("description", description)) if v is not None}
        if values:
            with self._write() as conn:
                conn.execute(t.roles.update().where(t.roles.c.id == role_id).values(**values))
        return self.get_role(role_id)

    def delete_role(self, role_id: int) -> None:
        self.get_role(role_id)
        with self._write() as conn:
            conn.execute(t.user_roles.delete().where(t.user_roles.c.role_id == role_id))
            conn.execute(t.role_permissions.delete().where(t.role_permissions.c.role_id == role_id))
            conn.execute(t.roles.delete().where(t.roles.c.id == role_id))

    def add_role_permission(
        self, role_id: int, resource_type: str, resource_pattern: str, permission: str
    ) -> RolePermission:
        self.get_role(role_id)
        with self._write() as conn:
            row = conn.execute(
                t.role_permissions.insert()
                .values(
                    role_id=role_id,
                    resource_type=resource_type,
                    resource_pattern=resource_pattern,
                    permission=permission,
                )
                .returning(t.role_permissions.c.id)
            ).one()
        return RolePermission(row.id, role_id, resource_type, resource_pattern, permission)

    def role_permission(self, role_permission_id: int) -> RolePermission:
        rp = t.role_permissions
        with self.db.read() as conn:
            r = conn.execute(sa.select(rp).where(rp.c.id == role_permission_id)).first()
        if r is None:
            raise ResourceNotFound(f"Role permission {role_permission_id} not found")
        return RolePermission(r.id, r.role_id, r.resource_type, r.resource_pattern, r.permission)

    def update_role_permission(self, role_permission_id: int, permission: str) -> RolePermission:
        self.role_permission(role_permission_id)
        with self._write() as conn:
            conn.execute(
                t.role_permissions.update()
                .where(t.role_permissions.c.id == role_permission_id)
                .values(permission=permission)
            )
        return self.role_permission(role_permission_id)

    def remove_role_permission(self, role_permission_id: int) -> None:
        self.role_permission(role_permission_id)
        with self._write() as conn:
            conn.execute(t.role_permissions.delete().where(t.role_permissions.c.id == role_permission_id))

    def assign_role(self, user_id: int, role_id: int) -> RoleAssignment:
        self.get_role(role_id)
        ur = t.user_roles
        with self._write() as conn:
            row = conn.execute(sa.select(ur.c.id).where(ur.c.user_id == user_id, ur.c.role_id == role_id)).first()
            if row is None:
                row = conn.execute(ur.insert().values(user_id=user_id, role_id=role_id).returning(ur.c.id)).one()
        return RoleAssignment(row.id, user_id, role_id)

    def unassign_role(self, user_id: int, role_id: int) -> None:
        ur = t.user_roles
        with self._write() as conn:
            done = conn.execute(ur.delete().where(ur.c.user_id == user_id, ur.c.role_id == role_id))
        if done.rowcount == 0:
            raise ResourceNotFound(f"The user does not hold role {role_id}")

    def user_roles(self, user_id: int) -> list[Role]:
        query = (
            sa.select(t.roles)
            .join(t.user_roles, t.user_roles.c.role_id == t.roles.c.id)
            .where(t.user_roles.c.user_id == user_id)
            .order_by(t.roles.c.name)
        )
        with self.db.read() as conn:
            return self._roles(conn, query)

    def role_users(self, role_id: int) -> list[RoleAssignment]:
        ur = t.user_roles
        with self.db.read() as conn:
            rows = conn.execute(sa.select(ur).where(ur.c.role_id == role_id).order_by(ur.c.id))
            return [RoleAssignment(r.id, r.user_id, r.role_id) for r in rows]

    def role_grants_of(self, user_id: int, resource_type: str) -> list[tuple[str, str]]:
        """(pattern, permission) of every role permission the user holds on one resource type."""
        rp, ur = t.role_permissions, t.user_roles
        query = (
            sa.select(rp.c.resource_pattern, rp.c.permission)
            .join(ur, ur.c.role_id == rp.c.role_id)
            .where(ur.c.user_id == user_id, rp.c.resource_type == resource_type)
        )
        with self.db.read() as conn:
            return [(r[0], r[1]) for r in conn.execute(query)]
