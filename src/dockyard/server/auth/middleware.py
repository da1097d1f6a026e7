"""The ASGI middleware that signs every request in (``dockyard server --auth``).

It reads the ``Authorization`` header (Basic, or Bearer with an API token), answers 401 in MLflow's
JSON error envelope with ``WWW-Authenticate: Basic`` when it is missing or wrong, and puts the
:class:`~.entities.User` in the request's state for the handlers' permission checks
(:mod:`.policy`). Requests to the artifact proxy are checked here too, because the proxy streams
bodies: the experiment is the first segment of the artifact path.

The web UI's pages (every path but the API's, :func:`~dockyard.server.ui.routes.is_ui_path`) also accept
the session cookie of ``/login`` (an API token), and send a browser without a valid one to
``/login?next=...`` instead of answering 401; the API never reads the cookie.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote

from dockyard.core.errors import DockyardError, PermissionDenied, Unauthenticated
from dockyard.server.auth.policy import proxy_action
from dockyard.server.ui.routes import is_public_ui_path, is_ui_path
from dockyard.server.ui.session import SESSION_COOKIE, cookie_value

if TYPE_CHECKING:
    from dockyard.server.auth.service import AuthService

# Open without credentials: liveness probes and the versions (MLflow's /version is open too).
PUBLIC_PATHS = frozenset({"/health", "/version", "/api/2.0/dockyard/version", "/ajax-api/2.0/dockyard/version"})

_PROXY = re.compile(r"^/(?:ajax-)?api/2\.0/mlflow-artifacts/(?:artifacts|mpu/(?:create|complete|abort))(/.*)?$")

Scope = dict[str, Any]


class AuthMiddleware:
    def __init__(self, app: Any, auth: AuthService) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if scope["type"] != "http" or path in PUBLIC_PATHS or is_public_ui_path(path):
            await self.app(scope, receive, send)
            return
        from starlette.concurrency import run_in_threadpool

        header = _header(scope, b"authorization")
        page = is_ui_path(path)
        from_cookie = False
        if header is None and page:  # the web UI's session cookie holds an API token; pages only
            session = cookie_value(scope, SESSION_COOKIE)
            if session:
                header, from_cookie = f"Bearer {session}", True
        try:
            # A header seen moments ago is answered from memory: no thread hop, no query.
            user = self.auth.signed_in(header)
            if user is None:
                user = await run_in_threadpool(self.auth.authenticate, header)
            proxied = _PROXY.match(scope["path"])
            if proxied and not user.is_admin:
                experiment_id = _proxied_experiment(proxied.group(1), scope)
                action = proxy_action(scope["method"])
                if experiment_id is None:
                    raise PermissionDenied(
                        "Permission denied: artifact paths outside an experiment's folder are for admins only"
                    )
                await run_in_threadpool(self.auth.require, user, "experiment", experiment_id, action)
        except DockyardError as exc:
            if page and isinstance(exc, Unauthenticated):  # a browser: to the sign-in page, then back
                await _to_login(scope, send, forget_session=from_cookie)
                return
            await _reply(send, exc)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _proxied_experiment(path: str | None, scope: Scope) -> str | None:
    """The experiment id an artifact-proxy request touches: the first segment of its artifact path (in
    the URL, or the ``path`` query parameter of the list call)."""
    if not path:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        path = "/" + query.get("path", [""])[-1]
    first = unquote(path).lstrip("/").split("/", 1)[0]
    return first if first.isascii() and first.isdigit() else None


async def _to_login(scope: Scope, send: Any, *, forget_session: bool) -> None:
    """303 to ``/login?next=<the page asked for>`` (an expired or revoked session cookie is dropped)."""
    query = scope.get("query_string", b"").decode("latin-1")
    asked = scope["path"] + (f"?{query}" if query else "")
    target = "/login" if scope["method"] != "GET" or asked == "/" else f"/login?next={quote(asked, safe='')}"
    headers = [(b"location", target.encode("latin-1")), (b"content-length", b"0"), (b"cache-control", b"no-store")]
    if forget_session:
        headers.append((b"set-cookie", f"{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=lax".encode()))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _reply(send: Any, exc: DockyardError) -> None:
    body = json.dumps(exc.to_dict()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if exc.http_status == 401:
        headers.append((b"www-authenticate", b'Basic realm="dockyard"'))
    await send({"type": "http.response.start", "status": exc.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
