"""The UI's sign-in cookie and its CSRF tokens.

A session is an API token (``AuthService.create_token(user, "ui-session")``) kept in an HttpOnly,
SameSite=Lax cookie: the auth middleware verifies it like a bearer token, so sessions need no table of
their own, expire with the token and end when it is revoked (``/logout`` revokes it).

Every POST form carries a CSRF token. With a session it is derived from the session's secret (a page of
another site cannot read the cookie, so it cannot compute the token); without one (auth off, or the login
form itself) it is a random value also kept in a cookie (double submit), which another site cannot read
or set either.

>>> csrf_for_session("dyt_abc_secret") == csrf_for_session("dyt_abc_secret")
True
>>> csrf_for_session("dyt_abc_secret") == csrf_for_session("dyt_abc_other")
False
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

SESSION_COOKIE = "dockyard_session"
CSRF_COOKIE = "dockyard_csrf"
FLASH_COOKIE = "dockyard_flash"
SESSION_TOKEN_NAME = "ui-session"  # noqa: S105  # the name of the API tokens that are UI sessions
SESSION_DAYS = 7.0  # how long a sign-in lasts
CSRF_FIELD = "csrf_token"  # the form field
CSRF_HEADER = "x-csrf-token"  # the header htmx requests send instead


def cookie_value(scope: Any, name: str) -> str | None:
    """One cookie of an ASGI scope's ``Cookie`` header (no Starlette needed: the middleware calls this)."""
    for key, value in scope.get("headers") or ():
        if key != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            cookie_name, sep, cookie = part.strip().partition("=")
            if sep and cookie_name == name and cookie:
                return str(cookie)
    return None


def csrf_for_session(session_token: str) -> str:
    """The CSRF token of a session: a keyed hash of its secret, so it never reveals the secret."""
    return hmac.new(session_token.encode(), b"dockyard-ui-csrf", hashlib.sha256).hexdigest()


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(24)
