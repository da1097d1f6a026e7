"""``dockyard users``, ``dockyard tokens`` and ``dockyard permissions``: accounts of a server run with
auth, managed on its database directly (for the admin with access to the database; through the server,
MLflow's ``AuthServiceClient`` does the same)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup, build_settings, tracking_uri_option
from dockyard.core.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.server.auth.service import AuthService

RESOURCE_TYPES = click.Choice(["experiment", "registered_model"])
PERMISSIONS = click.Choice(["READ", "EDIT", "MANAGE", "NO_PERMISSIONS"], case_sensitive=False)


@contextmanager
def _auth(tracking_uri: str | None) -> Iterator[AuthService]:
    from dockyard.db import Database, ensure_schema
    from dockyard.server.auth.service import AuthService
    from dockyard.server.auth.store import SqlAuthStore

    uri = build_settings(tracking_uri).tracking_uri
    if uri.startswith(("http://", "https://")):
        raise click.UsageError("accounts live in the server's database: give it with --tracking-uri (a path or URI)")
    db = Database(uri)
    try:
        ensure_schema(db)
        yield AuthService(SqlAuthStore(db))
    except DockyardError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.dispose()


def _password(value: str | None) -> str:
    return value if value is not None else click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _when(ms: int | None) -> str:
    return "never" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------------- users


@click.group("users", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def users() -> None:
    """Create, list and delete the users of a server run with auth."""


@users.command("create", context_settings=CONTEXT_SETTINGS)
@click.argument("username")
@click.option("--password", default=None, help="The password (asked for when not given).")
@click.option("--admin", is_flag=True, help="Make the user an admin (every permission).")
@tracking_uri_option
def create_user(username: str, password: str | None, admin: bool, tracking_uri: str | None) -> None:
    """Create USERNAME."""
    with _auth(tracking_uri) as auth:
        user = auth.create_user(username, _password(password), is_admin=admin)
    click.echo(f"Created user {user.username}{' (admin)' if user.is_admin else ''}.")


@users.command("list", context_settings=CONTEXT_SETTINGS)
@tracking_uri_option
def list_users(tracking_uri: str | None) -> None:
    """List the users, admins marked."""
    with _auth(tracking_uri) as auth:
        for user in auth.list_users():
            click.echo(f"{user.username}{'  admin' if user.is_admin else ''}")


@users.command("set-password", context_settings=CONTEXT_SETTINGS)
@click.argument("username")
@click.option("--password", default=None, help="The new password (asked for when not given).")
@tracking_uri_option
def set_password(username: str, password: str | None, tracking_uri: str | None) -> None:
    """Give USERNAME a new password."""
    with _auth(tracking_uri) as auth:
        auth.update_password(username, _password(password))
    click.echo(f"Changed the password of {username}.")


@users.command("set-admin", context_settings=CONTEXT_SETTINGS)
@click.argument("username")
@click.option("--admin/--no-admin", default=True, show_default=True, help="Grant or remove admin rights.")
@tracking_uri_option
def set_admin(username: str, admin: bool, tracking_uri: str | None) -> None:
    """Make USERNAME an admin, or no longer one."""
    with _auth(tracking_uri) as auth:
        auth.update_admin(username, admin)
    click.echo(f"{username} is {'now' if admin else 'no longer'} an admin.")


@users.command("delete", context_settings=CONTEXT_SETTINGS)
@click.argument("username")
@tracking_uri_option
def delete_user(username: str, tracking_uri: str | None) -> None:
    """Delete USERNAME with their grants and tokens."""
    with _auth(tracking_uri) as auth:
        auth.delete_user(username)
    click.echo(f"Deleted user {username}.")


# ---------------------------------------------------------------------- tokens


@click.group("tokens", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def tokens() -> None:
    """API tokens: sign in without a password (DOCKYARD_TRACKING_TOKEN, MLFLOW_TRACKING_TOKEN)."""


@tokens.command("create", context_settings=CONTEXT_SETTINGS)
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (shown by 'tokens list').")
@click.option("--expires-in-days", type=click.FloatRange(min=0, min_open=True), default=None, help="Expiry.")
@tracking_uri_option
def create_token(username: str, name: str, expires_in_days: float | None, tracking_uri: str | None) -> None:
    """Create a token for USERNAME and print it (shown this once; only a hash is kept)."""
    with _auth(tracking_uri) as auth:
        record, secret = auth.create_token(username, name, expires_in_days=expires_in_days)
    click.echo(f"Token {record.token_id} for {username}, expires {_when(record.expiry_time)}:", err=True)
    click.echo(secret)


@tokens.command("list", context_settings=CONTEXT_SETTINGS)
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@tracking_uri_option
def list_tokens(username: str | None, tracking_uri: str | None) -> None:
    """List tokens (never their secrets)."""
    with _auth(tracking_uri) as auth:
        for tok in auth.list_tokens(username):
            state = "revoked" if tok.revoked else f"expires {_when(tok.expiry_time)}"
            click.echo(f"{tok.token_id}  {tok.username}  {tok.name}  created {_when(tok.creation_time)}  {state}")


@tokens.command("revoke", context_settings=CONTEXT_SETTINGS)
@click.argument("token_id")
@tracking_uri_option
def revoke_token(token_id: str, tracking_uri: str | None) -> None:
    """Revoke TOKEN_ID: calls with it are refused from now on."""
    with _auth(tracking_uri) as auth:
        auth.revoke_token(token_id)
    click.echo(f"Revoked token {token_id}.")


# ---------------------------------------------------------------------- permissions


@click.group("permissions", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def permissions() -> None:
    """Grant users READ, EDIT or MANAGE on one experiment or registered model."""


@permissions.command("grant", context_settings=CONTEXT_SETTINGS)
@click.argument("username")
@click.argument("resource_type", type=RESOURCE_TYPES, metavar="RESOURCE_TYPE")
@click.argument("resource_id")
@click.argument("permission", type=PERMISSIONS, metavar="PERMISSION")
@tracking_uri_option
def grant(username: str, resource_type: str, resource_id: str, permission: str, tracking_uri: str | None) -> None:
    """Give USERNAME PERMISSION on RESOURCE_TYPE RESOURCE_ID (an experiment id or a model name)."""
    from dockyard.server.auth.entities import Permission

    with _auth(tracking_uri) as auth:
        auth.grant(resource_type, resource_id, username, Permission.parse(permission))
    click.echo(f"{username}: {permission.upper()} on {resource_type} {resource_id}.")


@permissions.command("revoke", context_settings=CONTEXT_SETTINGS)
@click.argument("username")
@click.argument("resource_type", type=RESOURCE_TYPES, metavar="RESOURCE_TYPE")
@click.argument("resource_id")
@tracking_uri_option
def revoke(username: str, resource_type: str, resource_id: str, tracking_uri: str | None) -> None:
    """Remove USERNAME's grant on RESOURCE_TYPE RESOURCE_ID (the server's default applies again)."""
    with _auth(tracking_uri) as auth:
        auth.revoke(resource_type, resource_id, username)
    click.echo(f"{username}: no grant on {resource_type} {resource_id}.")


@permissions.command("list", context_settings=CONTEXT_SETTINGS)
@click.argument("username")
@tracking_uri_option
def list_grants(username: str, tracking_uri: str | None) -> None:
    """List USERNAME's grants."""
    with _auth(tracking_uri) as auth:
        grants = auth.grants(username)
    if not grants:
        click.echo(f"{username} holds no grant: the server's default permission applies.", err=True)
    for g in grants:
        click.echo(f"{g.resource_type}  {g.resource_id}  {g.permission.value}")
