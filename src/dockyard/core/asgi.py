"""What the tracking server and the scoring server both do to ASGI requests: reading bodies under a size
limit, giving each request an id, and the security headers every response carries.

>>> headers = with_security_headers([(b"content-type", b"application/json")], "abc123")
>>> [name.decode() for name, _ in headers]  # doctest: +NORMALIZE_WHITESPACE
['content-type', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'content-security-policy',
 'x-request-id']
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dockyard.core.errors import RequestTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Sent with every response. A page that sets its own Content-Security-Policy (the web UI, later) keeps it;
# everything else is JSON or text, which needs no script, style or frame: "default-src 'none'".
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)

# An X-Request-Id set by a reverse proxy is kept when it looks like an id, so the proxy's log and ours
# share it; anything else (newlines, quotes: a log injection) is replaced by a new one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


async def read_body(request: Any, limit: int, reserve: Callable[[int], None] | None = None) -> bytes:
    """An ASGI request's body, refused with 413 as soon as it passes ``limit`` bytes (never read whole
    first); the tracking server and the scoring server both read bodies this way.

    ``reserve(n)`` is called before ``n`` more bytes are held (the declared length up front, then what a
    longer or undeclared body adds as it arrives), so a caller can refuse a body it has no room for.
    """
    declared = request.headers.get("content-length", "")
    reserved = 0
    if declared.isdigit():
        if int(declared) > limit:
            raise RequestTooLarge(f"request body of {int(declared)} bytes is over the server's limit of {limit} bytes")
        if reserve is not None:
            reserve(int(declared))
            reserved = int(declared)
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"request body is over the server's limit of {limit} bytes")
        if reserve is not None and size > reserved:
            reserve(size - reserved)
            reserved = size
        parts.append(chunk)
    return b"".join(parts)


def request_id(scope: Scope) -> str:
    """The request's id, made on first use and kept in ``scope["state"]`` (``request.state.request_id``).

    >>> scope = {"headers": [(b"x-request-id", b"proxy-0001")]}
    >>> request_id(scope), request_id({"headers": [(b"x-request-id", b"a\\nb")]}) != "a\\nb"
    ('proxy-0001', True)
    """
    state = scope.setdefault("state", {})
    known = state.get("request_id")
    if isinstance(known, str):
        return known
    rid = ""
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            text = value.decode("latin-1")
            rid = text if _REQUEST_ID.fullmatch(text) else ""
            break
    rid = rid or secrets.token_hex(8)
    state["request_id"] = rid
    return rid


def with_security_headers(headers: list[tuple[bytes, bytes]], rid: str) -> list[tuple[bytes, bytes]]:
    """``headers`` plus the security headers and ``X-Request-Id``, each unless the response set it."""
    present = {name.lower() for name, _ in headers}
    out = list(headers)
    out.extend((name, value) for name, value in SECURITY_HEADERS if name not in present)
    if b"x-request-id" not in present:
        out.append((b"x-request-id", rid.encode("ascii")))
    return out


class SecurityHeaders:
    """ASGI middleware: every HTTP response gets the security headers and its request's ``X-Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_security_headers(list(message.get("headers") or ()), rid)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
