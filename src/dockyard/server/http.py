"""Request parsing, responses and error mapping shared by every handler.

MLflow clients send GET parameters as a query string (repeated keys for lists, ``True``/``False`` for
booleans) and everything else as a JSON body; :class:`Params` reads both the same way, and its
accessors name the field in every error. :func:`endpoint` turns a plain function
``(ctx, params) -> dict`` into a Starlette endpoint that runs it in a worker thread (the stores are
synchronous) and encodes the result.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.core.asgi import read_body
from dockyard.core.errors import DockyardError, InvalidParameter
from dockyard.core.wire import decode_int

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from dockyard.server.context import ServerContext


@dataclass
class Params:
    """The request's parameters: the JSON body, or the query string of a GET."""

    data: dict[str, Any]
    from_query: bool = False

    @classmethod
    async def read(cls, request: Request) -> Params:
        if request.method in ("GET", "HEAD"):
            query = request.query_params
            return cls({k: query.getlist(k) if len(query.getlist(k)) > 1 else query[k] for k in query}, True)
        body = await read_body(request, request.app.state.ctx.settings.max_request_bytes)  # 413 past the limit
        if not body.strip():
            return cls({})
        content_type = request.headers.get("content-type", "")
        if content_type and "json" not in content_type:
            raise InvalidParameter(f"Content-Type must be application/json for {request.method} {request.url.path}")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidParameter(f"request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidParameter("request body must be a JSON object")
        return cls(data)

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            raise InvalidParameter(f"Missing value for required parameter '{name}'")
        return value

    def string(self, name: str, *, required: bool = False, default: str | None = None) -> Any:
        value = self._get(name, required)
        if value is None:
            return default
        if isinstance(value, list) and self.from_query:
            value = value[-1]
        if not isinstance(value, str):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': expected a string")
            value = str(value)
        return value

    def integer(self, name: str, *, required: bool = False, default: int | None = None) -> Any:
        value = self._get(name, required)
        if isinstance(value, list) and self.from_query:
            value = value[-1]
        return decode_int(value, name, default)

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': expected true or false")

    def items(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            if self.from_query:
                return [value]
            raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': expected a list")
        return value

    def raw(self, name: str) -> Any:
        return self.data.get(name)


Handler = Callable[["ServerContext", Params], dict[str, Any]]


def page_response(field: str, items: list[Any], next_page_token: str) -> dict[str, Any]:
    """``{field: items}`` plus ``next_page_token`` when there is a next page (MLflow omits it otherwise)."""
    out: dict[str, Any] = {field: items}
    if next_page_token:
        out["next_page_token"] = next_page_token
    return out


def json_response(payload: Any, status: int = 200) -> Response:
    from starlette.responses import Response

    return Response(
        json.dumps(payload, separators=(",", ":"), allow_nan=False), status_code=status, media_type="application/json"
    )


def endpoint(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint around ``fn(ctx, params) -> dict``; the call runs in a worker thread."""
    from starlette.concurrency import run_in_threadpool

    async def handle(request: Request) -> Response:
        params = await Params.read(request)
        params.data.update(request.path_params)
        result = await run_in_threadpool(fn, request.app.state.ctx, params)
        return json_response(result)

    handle.__name__ = fn.__name__
    handle.__doc__ = fn.__doc__
    return handle


async def dockyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DockyardError)  # noqa: S101  for mypy: registered as the handler of DockyardError only
    return json_response(exc.to_dict(), exc.http_status)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    return json_response({"error_code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"}, 500)
