"""Reading ASGI request bodies under a size limit (the tracking server and the scoring server both do)."""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import RequestTooLarge


async def read_body(request: Any, limit: int) -> bytes:
    """An ASGI request's body, refused with 413 as soon as it passes ``limit`` bytes (never read whole
    first); the tracking server and the scoring server both read bodies this way."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"request body of {int(declared)} bytes is over the server's limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"request body is over the server's limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)
