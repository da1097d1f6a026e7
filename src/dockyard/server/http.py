"""Request parsing, responses and error mapping shared by every handler.

MLflow clients send GET parameters as a query string (repeated keys for lists, ``True``/``False`` for
booleans) and everything else as a JSON body; :class:`Params` reads both the same way, and its
accessors name the field in every error. :func:`endpoint` turns a plain function
``(ctx, params) -> dict`` into a Starlette endpoint that runs it in a worker thread (the stores are
synchronous) and encodes the result.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.core.asgi import read_body, request_id
from dockyard.core.errors import DockyardError, InvalidParameter, UnsupportedMediaType
from dockyard.core.validation import invalid_value, missing_value
from dockyard.core.wire import decode_int
from dockyard.server.auth.policy import guarded

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from dockyard.server.context import ServerContext

# Tracebacks of the 500s, with the request id the client was given.
logger = logging.getLogger("dockyard.server")

MAX_JSON_DEPTH = 64  # nesting of a JSON body; no MLflow call nests more than a few levels


@dataclass
class Params:
    """The request's parameters: the JSON body, or the query string of a GET."""

    data: dict[str, Any]
    from_query: bool = False
    caller: Any = None  # the signed-in user (server.auth.entities.User) when the server runs with auth

    @classmethod
    async def read(cls, request: Request) -> Params:
        if request.method in ("GET", "HEAD"):
            query = request.query_params
            return cls({k: query.getlist(k) if len(query.getlist(k)) > 1 else query[k] for k in query}, True)
        body = await read_body(request, request.app.state.ctx.settings.max_request_bytes)  # 413 past the limit
        if not body.strip():
            return cls({})  # MLflow's clients send some calls without a body, and without a content type
        # Exactly application/json: a browser sends text/plain (even "text/plain;charset=json") or a form
        # cross-site without asking the server first (CORS preflight), so anything else could be a forgery.
        content_type = request.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            raise UnsupportedMediaType(
                f"Content-Type must be application/json for {request.method} {request.url.path}, "
                f"got {content_type[:100] or 'none'!r}"
            )
        data = _loads(body)
        if not isinstance(data, dict):
            raise InvalidParameter("request body must be a JSON object")
        return cls(data)

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if required and (value is None or value == ""):  # protobuf JSON reads an empty string as unset
            raise InvalidParameter(missing_value(name))
        if isinstance(value, list) and self.from_query:
            value = value[-1]
        return value

    def string(self, name: str, *, required: bool = False, default: str | None = None) -> Any:
        """A string field: a JSON number, list or object there is refused (MLflow's message names it)."""
        value = self._get(name, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise InvalidParameter(invalid_value(name, value))
        return value

    def integer(self, name: str, *, required: bool = False, default: int | None = None) -> Any:
        """An int64 field: a JSON integer, an integral float or a string of digits (protobuf's form)."""
        value = self._get(name, required)
        try:
            return decode_int(value, name, default)
        except InvalidParameter:
            raise InvalidParameter(invalid_value(name, value)) from None

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': expected true or false")

    def items(self, name: str, *, required: bool = False) -> list[Any]:
        """A repeated field: a JSON list (a query string repeats the key, or gives it once)."""
        value = self.data.get(name)
        if value is None or (self.from_query and value == ""):
            if required:
                raise InvalidParameter(missing_value(name))
            return []
        if not isinstance(value, list):
            if self.from_query:
                return [value]
            raise InvalidParameter(invalid_value(name, value))
        if required and not value:
            raise InvalidParameter(missing_value(name))
        return value

    def raw(self, name: str) -> Any:
        return self.data.get(name)


def _loads(body: bytes) -> Any:
    """The JSON document of a request body; InvalidParameter if it does not parse or nests too deep."""
    too_deep = f"request body nests JSON deeper than {MAX_JSON_DEPTH} levels (the limit)"
    try:
        data = json.loads(body)
    except RecursionError:
        raise InvalidParameter(too_deep) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"request body is not valid JSON: {exc}") from None
    # Fewer brackets than the limit cannot nest past it: most bodies skip the walk.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _deeper_than(data, MAX_JSON_DEPTH):
        raise InvalidParameter(too_deep)
    return data


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than ``limit`` levels in ``value`` (iteratively: no recursion)."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


Handler = Callable[["ServerContext", Params], dict[str, Any]]

API_PREFIX = re.compile(r"^/(?:ajax-)?api/[23]\.0")  # a route's path without its API version prefix


def route_of(request: Request) -> str:
    """The template of the route a request matched, without its API prefix (the key of its auth rule)."""
    return API_PREFIX.sub("", request.scope["route"].path)


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
        ctx = request.app.state.ctx
        if ctx.auth is None:
            result = await run_in_threadpool(fn, ctx, params)
        else:  # the caller's permission on what the route touches, checked before fn runs
            route = route_of(request)
            user = request.state.user
            result = await run_in_threadpool(guarded, fn, ctx, params, method=request.method, route=route, user=user)
        return json_response(result)

    # The name and docstring of fn, and fn itself as __wrapped__: the OpenAPI document reads its parameters.
    functools.update_wrapper(handle, fn, assigned=("__name__", "__doc__"), updated=())
    return handle


async def dockyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DockyardError)  # noqa: S101  for mypy: registered as the handler of DockyardError only
    if exc.http_status == 500:  # the server's own fault (a missing extra, a store's error): may name internals
        return internal_error(request, exc)
    return json_response(exc.to_dict(), exc.http_status)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Any other exception: logged with its traceback and the request id, answered with the id only."""
    return internal_error(request, exc)


def internal_error(request: Request, exc: BaseException) -> Response:
    """A 500 that says nothing of the exception (its text may hold paths, SQL or secrets), only the request
    id, which the log line of the traceback carries too (logger ``dockyard.server``)."""
    rid = request_id(request.scope)
    logger.error(
        "request %s failed: %s %s", rid, request.method, request.url.path, exc_info=(type(exc), exc, exc.__traceback__)
    )
    response = json_response({"error_code": "INTERNAL_ERROR", "message": f"internal error; request id {rid}"}, 500)
    response.headers["X-Request-Id"] = rid
    return response
