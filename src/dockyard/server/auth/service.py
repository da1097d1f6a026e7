"""Sign-in and permissions: :class:`AuthService`.

Passwords are hashed with argon2id (argon2-cffi). Verifying one costs tens of milliseconds on purpose,
so a password that verified is remembered for a minute, keyed by a salted SHA-256 of the credentials
and only while the user's stored hash is unchanged (a new password, or a deleted user, ends it at once).
API tokens are 256-bit random secrets: a SHA-256 of the secret is enough at rest and costs nothing.

>>> from dockyard.db import Database, upgrade
>>> db = Database("sqlite://")
>>> revision = upgrade(db)
>>> from dockyard.server.auth.store import SqlAuthStore
>>> auth = AuthService(SqlAuthStore(db))
>>> auth.create_user("ada", "correct horse battery").username
'ada'
>>> auth.authenticate("Basic " + __import__("base64").b64encode(b"ada:correct horse battery").decode()).username
'ada'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from dockyard.core.clock import now_ms
from dockyard.core.errors import InvalidParameter, PermissionDenied, ResourceNotFound, Unauthenticated
from dockyard.server.auth.entities import (
    ROLE_PERMISSIONS,
    ApiToken,
    Grant,
    Permission,
    Role,
    RoleAssignment,
    RolePermission,
    User,
)
from dockyard.server.auth.store import SqlAuthStore

ADMIN_USERNAME = "admin"
MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "dyt_"  # noqa: S105  # the public prefix of a token, not a secret
CREDENTIAL_CACHE_SECONDS = 60.0
CREDENTIAL_CACHE_SIZE = 4096  # entries; the cache is cleared when it fills
# How long a sign-in or a permission, once looked up, is reused without asking the database. A change made
# through this process (a new password, a revoked token, a grant) takes effect at once; one made by another
# worker or host within this many seconds.
LOOKUP_CACHE_SECONDS = 5.0

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,255}")


def check_username(username: Any, field: str = "username") -> str:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise InvalidParameter(
            f"{field}: {username!r} is not a valid user name (letters, digits and . _ @ + -, at most 256)"
        )
    return username


def check_password(password: Any, field: str = "password") -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidParameter(f"{field} must be a string of at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise InvalidParameter(f"{field} is longer than 1024 characters")
    return password


class AuthService:
    """Users, grants and tokens over a :class:`SqlAuthStore`; ``default_permission`` applies to every
    experiment and registered model a user holds no grant on (MLflow's default is READ)."""

    def __init__(
        self,
        store: SqlAuthStore,
        *,
        default_permission: Permission = Permission.READ,
        password_hasher: Any = None,
    ) -> None:
        from argon2 import PasswordHasher

        self.store = store
        self.default_permission = default_permission
        # argon2-cffi's defaults (RFC 9106's low-memory profile); tests pass a cheaper one.
        self._hasher = password_hasher or PasswordHasher()
        self._salt = secrets.token_bytes(16)  # keys of the credential cache; never leaves the process
        self._verified: dict[bytes, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._signed_in = _Lookups[bytes, User]()  # Authorization header (hashed) -> user
        self._permissions = _Lookups[tuple[int, str, str], Permission]()
        self._owners = _Lookups[tuple[str, str], str]()  # (kind, id) -> experiment id; never changes

    def signed_in(self, authorization: str | None) -> User | None:
        """The user an ``Authorization`` header signed in as moments ago, if still known; no I/O, so the
        middleware asks this before it hands the header to a worker thread."""
        if not authorization:
            return None
        return self._signed_in.get(self._header_key(authorization), self.store.version)

    def _header_key(self, authorization: str) -> bytes:
        return hashlib.sha256(self._salt + authorization.encode()).digest()

    # ------------------------------------------------------------------ sign-in

    def authenticate(self, authorization: str | None) -> User:
        """The user an ``Authorization`` header names (Basic, or Bearer with an API token)."""
        known = self.signed_in(authorization)
        if known is not None:
            return known
        user = self._authenticate(authorization)
        self._signed_in.put(self._header_key(authorization or ""), user, self.store.version)
        return user

    def _authenticate(self, authorization: str | None) -> User:
        if not authorization:
            raise Unauthenticated("authentication required: send a user name and password, or an API token")
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "basic":
            return self._basic(value.strip())
        if scheme.lower() == "bearer":
            return self._bearer(value.strip())
        raise Unauthenticated(f"unsupported authorization scheme {scheme!r} (use Basic or Bearer)")

    def _basic(self, value: str) -> User:
        try:
            username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("malformed Basic credentials") from None
        if not sep:
            raise Unauthenticated("malformed Basic credentials")
        return self.check_password(username, password)

    def check_password(self, username: str, password: str) -> User:
        user = self.store.find_user(username)
        if user is None:
            self._hasher.hash(password)  # the same cost as a wrong password: no user enumeration by timing
            raise Unauthenticated("invalid user name or password")
        key = hashlib.sha256(self._salt + username.encode() + b"\0" + password.encode()).digest()
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(key)
        if cached is not None and cached[0] == user.password_hash and cached[1] > now:
            return user
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            self._hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise Unauthenticated("invalid user name or password") from None
        with self._lock:
            if len(self._verified) >= CREDENTIAL_CACHE_SIZE:
                self._verified.clear()
            self._verified[key] = (user.password_hash, now + CREDENTIAL_CACHE_SECONDS)
        return user

    def _bearer(self, token: str) -> User:
        token_id, secret = split_token(token)
        found = self.store.find_token(token_id) if token_id else None
        if found is None:
            raise Unauthenticated("invalid API token")
        user, secret_hash, expiry, revoked = found
        if not hmac.compare_digest(secret_hash, _secret_hash(secret)):
            raise Unauthenticated("invalid API token")
        if revoked:
            raise Unauthenticated(f"API token {token_id} was revoked")
        if expiry is not None and expiry <= now_ms():
            raise Unauthenticated(f"API token {token_id} has expired")
        return user

    # ------------------------------------------------------------------ users

    def create_user(self, username: str, password: str, *, is_admin: bool = False) -> User:
        check_username(username)
        return self.store.create_user(username, self._hasher.hash(check_password(password)), is_admin)

    def bootstrap_admin(self, password: str | None) -> str | None:
        """Create ``admin`` when the store has no user yet: with ``password`` (DOCKYARD_AUTH_ADMIN_PASSWORD),
        else a generated one, which is returned so the caller prints it once. Never a fixed default."""
        if self.store.count_users():
            return None
        generated = None if password else secrets.token_urlsafe(18)
        self.create_user(ADMIN_USERNAME, password or generated or "", is_admin=True)
        return generated

    def get_user(self, username: str) -> User:
        return self.store.get_user(check_username(username))

    def list_users(self) -> list[User]:
        return self.store.list_users()

    def update_password(self, username: str, password: str) -> None:
        self.store.update_user(check_username(username), password_hash=self._hasher.hash(check_password(password)))

    def update_admin(self, username: str, is_admin: bool) -> None:
        self.store.update_user(check_username(username), is_admin=is_admin)

    def delete_user(self, username: str) -> None:
        self.store.delete_user(check_username(username))

    # ------------------------------------------------------------------ permissions

    def permission(self, user: User, resource_type: str, resource_id: str) -> Permission:
        """What ``user`` may do with one experiment or registered model: MANAGE for admins, else their
        own grant, else what their roles give (DENY wins), else the default."""
        if user.is_admin:
            return Permission.MANAGE
        key = (user.id, resource_type, resource_id)
        known = self._permissions.get(key, self.store.version)
        if known is not None:
            return known
        version = self.store.version
        granted = self.store.permission(resource_type, resource_id, user.id)
        if granted is None:
            granted = _fold(self.store.role_grants_of(user.id, resource_type), resource_id) or self.default_permission
        self._permissions.put(key, granted, version)
        return granted

    def experiment_of(self, kind: str, resource_id: str, lookup: Callable[[], str]) -> str:
        """The experiment a run or logged model belongs to (``lookup`` asks the store once: it never changes)."""
        known = self._owners.get((kind, resource_id), 0)
        if known is None:
            known = lookup()
            self._owners.put((kind, resource_id), known, 0, seconds=None)
        return known

    def require(self, user: User, resource_type: str, resource_id: str, action: str) -> None:
        if not self.permission(user, resource_type, resource_id).can(action):
            label = "experiment" if resource_type == "experiment" else "registered model"
            raise PermissionDenied(f"Permission denied: {user.username} may not {action} {label} {resource_id!r}")

    def readable(self, user: User, resource_type: str) -> Callable[[str], bool]:
        """A test of which resources ``user`` may read, built from one query (for filtering searches)."""
        if user.is_admin:
            return lambda _resource_id: True
        grants = self.store.permissions_of(resource_type, user.id)
        role_grants = self.store.role_grants_of(user.id, resource_type)
        default = self.default_permission

        def can_read(resource_id: str) -> bool:
            found = grants.get(resource_id) or _fold(role_grants, resource_id) or default
            return found.can("read")

        return can_read

    def grant(self, resource_type: str, resource_id: str, username: str, permission: Permission) -> None:
        user = self.get_user(username)
        self.store.set_permission(resource_type, str(resource_id), user.id, permission)

    def grant_creator(self, user: User, resource_type: str, resource_id: str) -> None:
        """The creator of an experiment or registered model manages it (kept if a grant exists)."""
        self.store.set_permission(resource_type, str(resource_id), user.id, Permission.MANAGE, create_only=True)

    def revoke(self, resource_type: str, resource_id: str, username: str) -> None:
        user = self.get_user(username)
        if not self.store.delete_permission(resource_type, str(resource_id), user.id):
            raise ResourceNotFound(f"{username} holds no grant on {resource_type} {resource_id!r}")

    def get_grant(self, resource_type: str, resource_id: str, username: str) -> Permission | None:
        user = self.get_user(username)
        return self.store.permission(resource_type, str(resource_id), user.id)

    def grants(self, username: str) -> list[Grant]:
        return self.store.grants(check_username(username))

    def require_admin(self, user: User) -> None:
        if not user.is_admin:
            raise PermissionDenied(f"Permission denied: {user.username} is not an admin")

    # ------------------------------------------------------------------ roles

    def create_role(self, workspace: str | None, name: str, description: str | None = None) -> Role:
        return self.store.create_role(workspace or DEFAULT_WORKSPACE, _role_name(name), description)

    def role_users(self, role_id: int) -> list[RoleAssignment]:
        self.store.get_role(role_id)
        return self.store.role_users(role_id)

    def add_role_permission(
        self, role_id: int, resource_type: str, resource_pattern: str, permission: str
    ) -> RolePermission:
        _check_role_target(resource_type, resource_pattern)
        return self.store.add_role_permission(role_id, resource_type, resource_pattern, _role_permission(permission))

    def update_role_permission(self, role_permission_id: int, permission: str) -> RolePermission:
        return self.store.update_role_permission(role_permission_id, _role_permission(permission))

    def assign_role(self, username: str, role_id: int) -> RoleAssignment:
        return self.store.assign_role(self.get_user(username).id, role_id)

    def unassign_role(self, username: str, role_id: int) -> None:
        self.store.unassign_role(self.get_user(username).id, role_id)

    def user_roles(self, username: str) -> list[Role]:
        return self.store.user_roles(self.get_user(username).id)

    # ------------------------------------------------------------------ API tokens

    def create_token(self, username: str, name: str, *, expires_in_days: float | None = None) -> tuple[ApiToken, str]:
        """A new token for ``username`` and its plaintext, which is shown this once and never again."""
        user = self.get_user(username)
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise InvalidParameter("token name must be a non-empty string of at most 256 characters")
        if expires_in_days is not None and expires_in_days <= 0:
            raise InvalidParameter("expires_in_days must be positive")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        expiry = None if expires_in_days is None else now_ms() + int(expires_in_days * 86_400_000)
        self.store.create_token(token_id, user.id, name, _secret_hash(secret), expiry)
        record = next(tok for tok in self.store.list_tokens(username) if tok.token_id == token_id)
        return record, f"{TOKEN_PREFIX}{token_id}_{secret}"

    def list_tokens(self, username: str | None = None) -> list[ApiToken]:
        return self.store.list_tokens(username)

    def revoke_token(self, token_id: str) -> None:
        self.store.revoke_token(token_id)


K = TypeVar("K")
V = TypeVar("V")


class _Lookups(Generic[K, V]):
    """A small cache of lookups: an entry lives ``LOOKUP_CACHE_SECONDS`` (or forever with ``seconds=None``)
    and only while the store is at the version it was read at. Cleared when it holds 4,096 entries."""

    def __init__(self) -> None:
        self._entries: dict[K, tuple[V, float, int]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, version: int) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[2] != version or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key: K, value: V, version: int, *, seconds: float | None = LOOKUP_CACHE_SECONDS) -> None:
        expiry = float("inf") if seconds is None else time.monotonic() + seconds
        with self._lock:
            if len(self._entries) >= CREDENTIAL_CACHE_SIZE:
                self._entries.clear()
            self._entries[key] = (value, expiry, version)


DEFAULT_WORKSPACE = "default"  # MLflow's name for the workspace of a server without workspaces
_RANK = {"READ": Permission.READ, "USE": Permission.READ, "EDIT": Permission.EDIT, "MANAGE": Permission.MANAGE}


def _fold(role_grants: list[tuple[str, str]], resource_id: str) -> Permission | None:
    """What a user's roles give on one resource: None when no role names it, NO_PERMISSIONS when one
    denies it, else the highest level among them."""
    matching = [permission for pattern, permission in role_grants if pattern in ("*", resource_id)]
    if not matching:
        return None
    if "DENY" in matching:
        return Permission.NO_PERMISSIONS
    levels = [_RANK[p] for p in matching if p in _RANK]
    order = [Permission.READ, Permission.EDIT, Permission.MANAGE]
    return max(levels, key=order.index) if levels else None


def _role_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise InvalidParameter("name must be a non-empty string of at most 256 characters")
    return name


def _role_permission(permission: Any) -> str:
    value = permission.upper() if isinstance(permission, str) else permission
    if value not in ROLE_PERMISSIONS:
        raise InvalidParameter(f"permission: {permission!r} is not one of {', '.join(ROLE_PERMISSIONS)}")
    return str(value)


def _check_role_target(resource_type: str, resource_pattern: Any) -> None:
    if resource_type not in ("experiment", "registered_model"):
        raise InvalidParameter(
            f"resource_type: {resource_type!r} is not supported (use experiment or registered_model)"
        )
    if not isinstance(resource_pattern, str) or not resource_pattern:
        raise InvalidParameter("resource_pattern must be '*' or a resource id or name")
    if resource_type == "experiment" and resource_pattern != "*" and not resource_pattern.isdigit():
        raise InvalidParameter(f"resource_pattern: {resource_pattern!r} is not '*' or an experiment id")


def split_token(token: str) -> tuple[str, str]:
    """(id, secret) of an API token ``dyt_<id>_<secret>``; empty strings when it is not one."""
    if not token.startswith(TOKEN_PREFIX):
        return "", ""
    token_id, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    return token_id, secret


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
