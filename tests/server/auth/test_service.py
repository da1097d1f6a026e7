"""AuthService: passwords, the verified-credential cache, API tokens, the first admin, grants."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from dockyard.core.errors import InvalidParameter, ResourceAlreadyExists, Unauthenticated
from dockyard.db import Database, upgrade
from dockyard.server.auth.entities import Permission
from dockyard.server.auth.service import AuthService
from dockyard.server.auth.store import SqlAuthStore


@pytest.fixture
def auth() -> Iterator[AuthService]:
    db = Database("sqlite://")
    upgrade(db)
    yield AuthService(SqlAuthStore(db), password_hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    db.dispose()


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_passwords_are_hashed_and_checked(auth: AuthService) -> None:
    auth.create_user("ada", "first-password")
    stored = auth.store.get_user("ada").password_hash
    assert stored.startswith("$argon2") and "first-password" not in stored
    assert auth.authenticate(basic("ada", "first-password")).username == "ada"
    for header in (basic("ada", "wrong"), basic("nobody", "first-password"), "Basic !!!", "Digest x", None):
        with pytest.raises(Unauthenticated):
            auth.authenticate(header)


def test_a_new_password_ends_the_cached_sign_in_at_once(auth: AuthService) -> None:
    auth.create_user("ada", "first-password")
    auth.authenticate(basic("ada", "first-password"))  # now cached
    auth.update_password("ada", "second-password")
    with pytest.raises(Unauthenticated):
        auth.authenticate(basic("ada", "first-password"))
    assert auth.authenticate(basic("ada", "second-password")).username == "ada"
    auth.delete_user("ada")
    with pytest.raises(Unauthenticated):
        auth.authenticate(basic("ada", "second-password"))


def test_users_are_checked(auth: AuthService) -> None:
    with pytest.raises(InvalidParameter, match="at least 8"):
        auth.create_user("ada", "short")
    with pytest.raises(InvalidParameter, match="not a valid user name"):
        auth.create_user("../ada", "long-enough")
    auth.create_user("ada", "long-enough")
    with pytest.raises(ResourceAlreadyExists):
        auth.create_user("ada", "long-enough")


def test_tokens_expire_and_can_be_revoked(auth: AuthService) -> None:
    auth.create_user("ada", "first-password")
    record, token = auth.create_token("ada", "ci")
    assert token.startswith("dyt_") and record.token_id in token
    assert auth.authenticate(f"Bearer {token}").username == "ada"
    assert token.split("_", 2)[2] not in str(auth.store.list_tokens())  # only a hash is kept
    with pytest.raises(Unauthenticated, match="invalid"):
        auth.authenticate(f"Bearer {token[:-2]}xx")
    auth.revoke_token(record.token_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.authenticate(f"Bearer {token}")
    _short, expiring = auth.create_token("ada", "brief", expires_in_days=0.001 / 86_400)  # one millisecond
    time.sleep(0.01)
    with pytest.raises(Unauthenticated, match="expired"):
        auth.authenticate(f"Bearer {expiring}")


def test_the_first_admin_is_created_once_with_a_generated_password(auth: AuthService) -> None:
    generated = auth.bootstrap_admin(None)
    assert generated and len(generated) >= 20
    assert auth.authenticate(basic("admin", generated)).is_admin
    assert auth.bootstrap_admin("another-password") is None  # users exist: nothing changes
    with pytest.raises(Unauthenticated):
        auth.authenticate(basic("admin", "another-password"))


def test_grants_default_and_admins(auth: AuthService) -> None:
    ada = auth.create_user("ada", "first-password")
    root = auth.create_user("root", "first-password", is_admin=True)
    assert auth.permission(ada, "experiment", "1") is Permission.READ  # the default
    auth.grant("experiment", "1", "ada", Permission.NO_PERMISSIONS)
    assert not auth.permission(ada, "experiment", "1").can("read")
    assert auth.permission(root, "experiment", "1") is Permission.MANAGE
    readable = auth.readable(ada, "experiment")
    assert (readable("1"), readable("2")) == (False, True)
    with pytest.raises(InvalidParameter, match="not supported"):
        auth.grant("prompt", "x", "ada", Permission.READ)
    with pytest.raises(InvalidParameter, match="not an experiment id"):
        auth.grant("experiment", "abc", "ada", Permission.READ)


def test_roles_give_permissions_on_patterns_and_deny_wins(auth: AuthService) -> None:
    ada = auth.create_user("ada", "first-password")
    auth.default_permission = Permission.NO_PERMISSIONS
    readers = auth.create_role(None, "readers")
    auth.add_role_permission(readers.id, "experiment", "*", "USE")
    editors = auth.create_role(None, "editors")
    auth.add_role_permission(editors.id, "experiment", "7", "EDIT")
    auth.add_role_permission(editors.id, "registered_model", "churn", "MANAGE")
    blocked = auth.create_role(None, "blocked")
    deny = auth.add_role_permission(blocked.id, "experiment", "9", "DENY")
    assert auth.permission(ada, "experiment", "1") is Permission.NO_PERMISSIONS  # no role yet
    for role in (readers, editors, blocked):
        auth.assign_role("ada", role.id)
    assert auth.permission(ada, "experiment", "1") is Permission.READ  # USE reads
    assert auth.permission(ada, "experiment", "7") is Permission.EDIT  # the highest of READ and EDIT
    assert auth.permission(ada, "registered_model", "churn") is Permission.MANAGE
    assert auth.permission(ada, "experiment", "9") is Permission.NO_PERMISSIONS  # DENY wins
    readable = auth.readable(ada, "experiment")
    assert (readable("1"), readable("9")) == (True, False)
    auth.grant("experiment", "9", "ada", Permission.READ)  # the user's own grant comes first
    assert auth.permission(ada, "experiment", "9") is Permission.READ
    auth.update_role_permission(deny.id, "READ")
    assert [r.name for r in auth.user_roles("ada")] == ["blocked", "editors", "readers"]
    auth.unassign_role("ada", editors.id)
    assert auth.permission(ada, "experiment", "7") is Permission.READ
    with pytest.raises(InvalidParameter, match="not one of"):
        auth.add_role_permission(readers.id, "experiment", "*", "OWNER")
    with pytest.raises(InvalidParameter, match="not '\\*' or an experiment id"):
        auth.add_role_permission(readers.id, "experiment", "abc", "READ")
