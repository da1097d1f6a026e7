"""The tracking server's middleware, outermost first (:func:`middleware` lists them for ``create_app``):

1. :class:`RequestGuard` gives every request an id (``X-Request-Id``, kept from a reverse proxy when it
   looks like one), adds the security headers to every response (:mod:`dockyard.core.asgi`), answers an
   exception no handler caught with a 500 that carries only the id (the traceback goes to the log with
   it), and writes the access log: one line per request on the logger ``dockyard.access``.
2. :class:`HostCheck` answers 400 to a request whose ``Host`` the server does not serve
   (``--allowed-hosts``). This stops DNS rebinding: a web page whose own name is made to resolve to
   127.0.0.1 reaches a laptop's server, but with that name as its Host.
3. Starlette's ``CORSMiddleware`` when browser origins are allowed (``--cors-allowed-origins``): only those
   get ``Access-Control-Allow-Origin``, and preflight requests are answered. A wildcard never goes with
   credentials. With no origins configured there is no CORS at all: a browser page of another origin
   cannot read an answer, and cannot send JSON (the API refuses other content types with 415).

>>> host_name("Example.COM.:5000"), host_name("[::1]:5000"), host_name("::1")
('example.com', '[::1]', '[::1]')
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dockyard.core.asgi import ASGIApp, Message, Receive, Scope, Send, request_id, with_security_headers
from dockyard.core.errors import BadRequest
from dockyard.server.http import internal_error, json_response

if TYPE_CHECKING:
    from dockyard.core.config import Settings

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")

access_logger = logging.getLogger("dockyard.access")

# Paths every Host may reach: load balancers and orchestrators probe with an address as the Host, and
# the answer ("OK") tells a rebinding page nothing.
_ANY_HOST_PATHS = frozenset({"/health"})


def middleware(settings: Settings) -> list[Any]:
    """The server's middleware for ``Starlette(middleware=...)``, outermost first."""
    from starlette.middleware import Middleware

    stack = [Middleware(RequestGuard, access_log=settings.access_log)]
    if settings.allowed_hosts:
        stack.append(Middleware(HostCheck, allowed=settings.allowed_hosts))
    if settings.cors_allowed_origins:
        stack.append(_cors(settings.cors_allowed_origins))
    return stack


def _cors(origins: Iterable[str]) -> Any:
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware

    listed = [origin.rstrip("/") for origin in origins]
    wildcard = "*" in listed
    return Middleware(
        CORSMiddleware,
        allow_origins=["*"] if wildcard else listed,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
        # Credentials (cookies, Authorization) only for origins named one by one: "*" with credentials
        # would let every site act as the signed-in user.
        allow_credentials=not wildcard,
        expose_headers=["X-Request-Id"],
        max_age=600,
    )


class RequestGuard:
    """Request id, security headers, the 500 of last resort and the access log (see the module doc)."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": with_security_headers(list(message.get("headers") or ()), rid)}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if status:  # a streamed answer failed midway: too late for a 500; the server drops the connection
                raise
            from starlette.requests import Request

            await internal_error(Request(scope, receive), exc)(scope, receive, send_with_headers)
        finally:
            if self.access_log and access_logger.isEnabledFor(logging.INFO):
                _log_access(scope, status, (time.perf_counter() - started) * 1000, rid)


def _log_access(scope: Scope, status: int, ms: float, rid: str) -> None:
    client = scope.get("client")
    access_logger.info(
        '%s %s "%s %s" %s %.1fms request_id=%s',
        client[0] if client else "-",
        _printable(_user(scope)),
        scope.get("method", "-"),
        _printable(scope.get("path", "")),
        status or "-",
        ms,
        rid,
    )


def _user(scope: Scope) -> str:
    """Who made the request: ``request.state.user`` when authentication set it, else ``-``."""
    from starlette.requests import Request

    user = getattr(Request(scope).state, "user", None)
    if user is None:
        return "-"
    if isinstance(user, str):
        return user or "-"
    return str(getattr(user, "username", None) or getattr(user, "name", None) or user)


def _printable(text: str) -> str:
    """``text`` with control characters, quotes and non-ASCII escaped: one log line stays one line."""
    return json.dumps(text)[1:-1] if text else "-"


def host_name(header: str) -> str:
    """The host of a ``Host`` header (or of an ``--allowed-hosts`` entry), lower-case, without the port
    and a trailing dot; IPv6 addresses in brackets."""
    text = header.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        return text[: end + 1] if end != -1 else text
    if text.count(":") > 1:  # a bare IPv6 address (an entry, not a header)
        return f"[{text}]"
    return text.partition(":")[0].rstrip(".")


class HostCheck:
    """400 for a ``Host`` that is not allowed: ``allowed`` holds names, addresses, ``*.domain`` patterns or
    ``*`` (any host)."""

    def __init__(self, app: ASGIApp, *, allowed: Iterable[str]) -> None:
        self.app = app
        names = [entry.strip().lower() for entry in allowed if entry.strip()]
        self.any = "*" in names
        self.exact = frozenset(host_name(n) for n in names if not n.startswith("*."))
        self.suffixes = tuple(host_name(n)[1:] for n in names if n.startswith("*."))  # "*.x.org" -> ".x.org"

    def allows(self, host: str) -> bool:
        name = host_name(host)
        return bool(name) and (name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.any or scope.get("path") in _ANY_HOST_PATHS:
            await self.app(scope, receive, send)
            return
        host = next((value.decode("latin-1") for name, value in scope.get("headers") or () if name == b"host"), "")
        if self.allows(host):
            await self.app(scope, receive, send)
            return
        error = BadRequest(
            f"Host {host[:200] or 'none'!r} is not served here: start the server with --allowed-hosts "
            "(DOCKYARD_ALLOWED_HOSTS) naming it"
        )
        await json_response(error.to_dict(), error.http_status)(scope, receive, send)


def configure_logging(*, access_log: bool) -> None:
    """Send the server's own log lines to stderr: the access log (INFO, when on) and the 500s' tracebacks
    (``dockyard.server``). uvicorn configures only its own loggers; calling this twice adds nothing."""
    formats = {"dockyard.server": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    if access_log:
        formats["dockyard.access"] = "%(asctime)s %(message)s"
    for name, fmt in formats.items():
        logger = logging.getLogger(name)
        if any(getattr(handler, "_dockyard", False) for handler in logger.handlers):
            continue
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(fmt))
        handler._dockyard = True  # type: ignore[attr-defined]  # marks ours, for the check above
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
