"""``/login`` and ``/logout``: a session is an API token in an HttpOnly cookie (see :mod:`..session`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.core.errors import Unauthenticated
from dockyard.server.ui import session as sess
from dockyard.server.ui.page import UIRequest, local_path

if TYPE_CHECKING:
    from starlette.responses import Response


def login(ui: UIRequest) -> Response:
    """The sign-in form (GET) and its answer (POST): a session cookie and a redirect to ``next``."""
    next_url = local_path(ui.form.get("next") or ui.query("next", "/"))
    if ui.ctx.auth is None:
        return ui.redirect(next_url)  # nothing to sign in to
    if ui.request.method == "GET":
        return ui.render("login.html", next_url=next_url, username="", error=None)
    username = ui.form.get("username", "").strip()
    password = ui.form.get("password", "")
    try:
        if not username or not password:
            raise Unauthenticated("enter a user name and a password")
        ui.ctx.auth.check_password(username, password)
    except Unauthenticated as exc:
        return ui.render("login.html", status=200, next_url=next_url, username=username, error=exc.message)
    _record, token = ui.ctx.auth.create_token(username, sess.SESSION_TOKEN_NAME, expires_in_days=sess.SESSION_DAYS)
    response = ui.redirect(next_url)
    response.set_cookie(
        sess.SESSION_COOKIE,
        token,
        max_age=int(sess.SESSION_DAYS * 86_400),
        httponly=True,
        samesite="lax",
        secure=ui.request.url.scheme == "https",
    )
    return response


def logout(ui: UIRequest) -> Response:
    """Revoke the session's token and forget the cookie. Only a token the cookie really holds (its
    secret checks out) is revoked: a cookie naming someone else's token id revokes nothing."""
    from dockyard.server.auth.service import split_token

    token = ui.request.cookies.get(sess.SESSION_COOKIE)
    if ui.ctx.auth is not None and token:
        try:
            ui.ctx.auth.authenticate(f"Bearer {token}")
        except Unauthenticated:
            pass  # not a live token of anyone's: nothing to revoke
        else:
            ui.ctx.auth.revoke_token(split_token(token)[0])
    response = ui.redirect("/login" if ui.ctx.auth is not None else "/", flash="Signed out.")
    response.delete_cookie(sess.SESSION_COOKIE)
    return response


ROUTES = [
    ("GET", "/login", login),
    ("POST", "/login", login),
    ("POST", "/logout", logout),
]
