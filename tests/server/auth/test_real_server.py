"""``dockyard server --auth`` as a real process, driven by MLflow's ``AuthServiceClient``, the official
``mlflow`` client (MLFLOW_TRACKING_USERNAME/PASSWORD and MLFLOW_TRACKING_TOKEN), Dockyard's own client
(DOCKYARD_TRACKING_*), and the ``dockyard users|tokens|permissions`` commands on its database."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import dockyard
from dockyard.cli import main
from dockyard.core.errors import PermissionDenied, Unauthenticated
from dockyard.core.transport import close_shared_transports
from dockyard.registry import backends as registry_backends
from dockyard.server.auth.service import LOOKUP_CACHE_SECONDS
from dockyard.tracking.backends import close_all

from server.dockyard_process import Server, dockyard_server

ADMIN_PASSWORD = "admin-passw0rd!"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("auth-server")
    env = {"DOCKYARD_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with dockyard_server(root, extra=("--auth",), env=env) as running:
        yield running


@pytest.fixture
def auth_client(secured: Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mlflow.server imports Flask and FastAPI pieces that warn on import
        from mlflow.server.auth.client import AuthServiceClient
    return AuthServiceClient(secured.url)


@pytest.fixture
def dockyard_as(secured: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point Dockyard's fluent API at the server as a given user (or token)."""

    def use(username: str | None = None, password: str | None = None, token: str | None = None) -> None:
        registry_backends.close_all()
        close_all()
        close_shared_transports()
        for name, value in (
            ("DOCKYARD_TRACKING_USERNAME", username),
            ("DOCKYARD_TRACKING_PASSWORD", password),
            ("DOCKYARD_TRACKING_TOKEN", token),
        ):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("DOCKYARD_TRACKING_URI", secured.url)

    yield use
    registry_backends.close_all()
    close_all()
    close_shared_transports()


def test_the_official_auth_client_manages_users_and_grants(auth_client: Any, secured: Server) -> None:
    user = auth_client.create_user("alice", "alice-passw0rd")
    assert (user.username, user.is_admin) == ("alice", False)
    assert auth_client.get_user("alice").username == "alice"
    auth_client.update_user_admin("alice", True)
    assert auth_client.get_user("alice").is_admin is True
    auth_client.update_user_admin("alice", False)
    auth_client.update_user_password("alice", "alice-new-passw0rd")
    auth_client.grant_user_permission("alice", "experiment", "0", "EDIT")
    got = auth_client.get_user_permission("alice", "experiment", "0")
    assert (got.allowed, got.permission) == (True, "EDIT")
    auth_client.revoke_user_permission("alice", "experiment", "0")
    assert auth_client.get_user_permission("alice", "experiment", "0").permission == "READ"  # the default
    auth_client.delete_user("alice")
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="not found"):
        auth_client.get_user("alice")


def test_the_official_auth_client_manages_roles(auth_client: Any, secured: Server) -> None:
    auth_client.create_user("grace", "grace-passw0rd")
    role = auth_client.create_role("default", "analysts", description="read everything")
    assert (role.name, role.workspace, role.description) == ("analysts", "default", "read everything")
    added = auth_client.add_role_permission(role.id, "experiment", "*", "READ")
    assert (added.resource_type, added.resource_pattern, added.permission) == ("experiment", "*", "READ")
    assert [p.permission for p in auth_client.list_role_permissions(role.id)] == ["READ"]
    assert auth_client.update_role_permission(added.id, "EDIT").permission == "EDIT"
    assignment = auth_client.assign_role("grace", role.id)
    assert assignment.role_id == role.id
    assert [r.name for r in auth_client.list_user_roles("grace")] == ["analysts"]
    assert [a.role_id for a in auth_client.list_role_users(role.id)] == [role.id]
    assert auth_client.get_user_permission("grace", "experiment", "0").permission == "EDIT"
    assert auth_client.update_role(role.id, name="analysts-2").name == "analysts-2"
    assert [r.name for r in auth_client.list_roles("default")] == ["analysts-2"]
    auth_client.unassign_role("grace", role.id)
    auth_client.remove_role_permission(added.id)
    auth_client.delete_role(role.id)
    assert auth_client.list_all_roles() == []


def test_the_official_client_signs_in_with_a_password_or_a_token(
    secured: Server, auth_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException

    auth_client.create_user("bob", "bob-passw0rd!")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "bob-passw0rd!")
    client = mlflow.MlflowClient(secured.url)
    experiment_id = client.create_experiment("bobs")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "loss", 0.5)
    assert client.get_run(run.info.run_id).info.user_id == "bob"

    result = CliRunner().invoke(
        main, ["tokens", "create", "bob", "--name", "ci", "--tracking-uri", str(secured.root / "server.db")]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.5}

    token_id = token.split("_")[1]
    revoked = CliRunner().invoke(
        main, ["tokens", "revoke", token_id, "--tracking-uri", str(secured.root / "server.db")]
    )
    assert revoked.exit_code == 0, revoked.output
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    # Revoked by another process (the CLI, on the database): the server notices within its lookup cache's
    # lifetime (changes made through the server itself take effect at once).
    deadline = time.monotonic() + LOOKUP_CACHE_SECONDS + 5
    while _still_signs_in(client, run.info.run_id):
        assert time.monotonic() < deadline, "the revoked token still works"
        time.sleep(0.5)
    with pytest.raises(MlflowException, match="revoked"):
        client.get_run(run.info.run_id)


def _still_signs_in(client: Any, run_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_run(run_id)
    except MlflowException:
        return False
    return True


def test_dockyards_client_signs_in_and_gets_the_same_errors(
    secured: Server, auth_client: Any, dockyard_as: Any
) -> None:
    auth_client.create_user("carol", "carol-passw0rd")
    dockyard_as("carol", "carol-passw0rd")
    client = dockyard.Client()
    experiment_id = client.create_experiment("carols")
    run = client.create_run(experiment_id)
    client.log_text(run.info.run_id, "hello", "notes/hello.txt")  # through the artifact proxy, signed in
    assert client.list_artifacts(run.info.run_id, "notes")[0].path == "notes/hello.txt"
    client.create_registered_model("carols-model")
    assert client.get_registered_model("carols-model").name == "carols-model"

    dockyard_as("carol", "wrong-password")
    with pytest.raises(Unauthenticated):
        dockyard.Client().get_run(run.info.run_id)
    auth_client.create_user("dave", "dave-passw0rd")
    dockyard_as("dave", "dave-passw0rd")
    dave = dockyard.Client()
    assert dave.get_run(run.info.run_id).info.run_id == run.info.run_id  # READ by default
    with pytest.raises(PermissionDenied):
        dave.log_metric(run.info.run_id, "loss", 1.0)
    with pytest.raises(PermissionDenied):
        dave.delete_registered_model("carols-model")


def test_the_cli_manages_accounts_on_the_database(tmp_path: Path) -> None:
    store = str(tmp_path / "accounts.db")

    def cli(*args: str) -> Any:
        return CliRunner().invoke(main, [*args, "--tracking-uri", store])

    assert cli("users", "create", "erin", "--password", "erin-passw0rd", "--admin").exit_code == 0
    assert "erin  admin" in cli("users", "list").stdout
    assert cli("users", "create", "erin", "--password", "erin-passw0rd").exit_code == 1
    assert "at least 8" in cli("users", "create", "frank", "--password", "short").output
    assert cli("permissions", "grant", "erin", "experiment", "0", "edit").exit_code == 0
    assert "experiment  0  EDIT" in cli("permissions", "list", "erin").stdout
    assert cli("permissions", "revoke", "erin", "experiment", "0").exit_code == 0
    created = cli("tokens", "create", "erin", "--name", "laptop", "--expires-in-days", "1")
    assert created.exit_code == 0 and created.stdout.startswith("dyt_")
    assert "laptop" in cli("tokens", "list").stdout
    assert cli("users", "set-admin", "erin", "--no-admin").exit_code == 0
    assert cli("users", "delete", "erin").exit_code == 0
    assert "erin" not in cli("users", "list").stdout
