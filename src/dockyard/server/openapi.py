"""The OpenAPI document of the server's whole HTTP API, served at ``GET /api/openapi.json``.

It is generated from the app's own route table, so a route cannot be served without being documented
(``tests/reliability/test_openapi.py`` fails if one is missing). For each route:

* the handler behind an API route (``server.http.endpoint``) is read once: every ``params.string(...)``,
  ``integer``, ``boolean``, ``items`` and ``raw`` call it makes (directly or through a helper of its
  module it hands the params to) is a parameter, with its type and whether ``required=True``; GET
  parameters are query parameters, the others fields of a JSON body;
* path parameters come from the route's template (``{model_id}``, ``{path:path}``);
* routes that are not JSON handlers (health, versions, artifact downloads and uploads, the web UI) are
  described by :data:`OTHER_ROUTES`, or as taking no parameters when they are not listed there.

Every operation answers either its success body or MLflow's error envelope (``error_code``,
``message``). The success bodies of the main MLflow operations (experiments, runs, metric histories,
registered models, model versions, logged models) are typed from MLflow's wire format by
:mod:`dockyard.server.openapi_schemas`, with the entities as ``components/schemas``; any other JSON
operation answers ``{"type": "object"}``. The server answers the same whether it runs with auth or not;
the document lists HTTP Basic and bearer tokens as the ways to sign in.

>>> parameters_of(lambda ctx, p: p.string("name", required=True) or p.integer("max_results"))
[Field(name='name', kind='string', required=True), Field(name='max_results', kind='integer', required=False)]
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.__about__ import __version__
from dockyard.server.http import API_PREFIX
from dockyard.server.openapi_schemas import COMPONENTS, response_schema

OPENAPI_PATH = "/api/openapi.json"

_ACCESSORS = {"string": "string", "integer": "integer", "boolean": "boolean", "items": "array", "raw": "any"}
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}
JSON_OBJECT: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # string, integer, boolean, array or any
    required: bool


@dataclass(frozen=True)
class Other:
    """A route that is not a JSON handler: what it answers and the query parameters it reads."""

    media_type: str
    summary: str
    query: tuple[str, ...] = ()
    body: str | None = None  # the media type of a raw request body


# Routes outside server.http.endpoint, by "METHOD template" or "template" (without the API prefix).
# Unlisted ones (a new UI page) are documented as answering HTML with no parameters.
OTHER_ROUTES: dict[str, Other] = {
    "/health": Other("text/plain", "Liveness: OK while the process serves"),
    "/version": Other("text/plain", "The MLflow REST API level this server implements"),
    "/dockyard/version": Other("application/json", "Dockyard's version and the MLflow API level"),
    "/mlflow-artifacts/artifacts/{path}": Other("application/octet-stream", "Download one artifact file"),
    "PUT /mlflow-artifacts/artifacts/{path}": Other(
        "application/json", "Upload one artifact file: the raw body", body="application/octet-stream"
    ),
    "/mlflow/logged-models/{model_id}/artifacts/files": Other(
        "application/octet-stream", "Download one file of a logged model", query=("artifact_file_path",)
    ),
    "/mlflow/upload-artifact": Other(
        "application/json", "Upload one file of a run (MLflow's UI)", query=("run_uuid", "path"), body="*/*"
    ),
    "/get-artifact": Other("application/octet-stream", "Download one file of a run", query=("run_uuid", "path")),
    "/model-versions/get-artifact": Other(
        "application/octet-stream", "Download one file of a model version", query=("name", "version", "path")
    ),
    "/static/{path}": Other("*/*", "The web UI's static files"),
    OPENAPI_PATH: Other("application/json", "This document"),
    "/metrics": Other("text/plain", "Prometheus metrics of the server (all its workers)"),
}


def parameters_of(handler: Callable[..., Any]) -> list[Field]:
    """The fields ``handler(ctx, params)`` reads from its params, in the order it reads them."""
    found: dict[str, Field] = {}
    _scan(handler, _params_name(handler, 1), found, set(), {})
    return list(found.values())


def _params_name(fn: Callable[..., Any], position: int) -> str | None:
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    return names[position] if len(names) > position else None


def _field_name(node: ast.expr, bound: dict[str, str]) -> str | None:
    """A field named by a string literal, or by a parameter the caller bound to one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    return None


def _scan(
    fn: Callable[..., Any], name: str | None, found: dict[str, Field], seen: set[Any], bound: dict[str, str]
) -> None:
    code = getattr(fn, "__code__", None)
    key = (code, tuple(sorted(bound.items())))
    if name is None or code is None or key in seen:
        return
    seen.add(key)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return
    module_globals = getattr(fn, "__globals__", {})
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == name
            and func.attr in _ACCESSORS
            and node.args
        ):
            field = _field_name(node.args[0], bound)
            if field is None:
                continue
            required = any(
                k.arg == "required" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords
            )
            previous = found.get(field)
            found[field] = Field(field, _ACCESSORS[func.attr], required or (previous is not None and previous.required))
        elif isinstance(func, ast.Name):
            # A helper of the same module handed the params: read it too, under its own parameter names
            # (with the string literals it was given, for a helper such as _entries(p, "metrics")).
            helper = module_globals.get(func.id)
            if not inspect.isfunction(helper) or helper.__module__ != getattr(fn, "__module__", None):
                continue
            positions = [i for i, arg in enumerate(node.args) if isinstance(arg, ast.Name) and arg.id == name]
            if not positions:
                continue
            names = list(inspect.signature(helper).parameters)
            literals = {
                names[i]: value
                for i, arg in enumerate(node.args)
                if i < len(names) and (value := _field_name(arg, bound)) is not None
            }
            for position in positions:
                _scan(helper, _params_name(helper, position), found, seen, literals)


def _schema(kind: str, *, in_query: bool) -> dict[str, Any]:
    if kind == "array":
        return {"type": "array", "items": {"type": "string"} if in_query else {}}
    if kind == "any":
        return {"type": "string"} if in_query else {}
    return {"type": kind}


def _responses(media_type: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answers of an operation: ``schema`` (the generic JSON object when None) for a JSON success."""
    ok: dict[str, Any] = {"schema": copy.deepcopy(schema or JSON_OBJECT)} if media_type == "application/json" else {}
    return {
        "200": {"description": "Success", "content": {media_type: ok}},
        "default": {
            "description": "An error: MLflow's envelope (a web page answers HTML); 501 NOT_IMPLEMENTED for multipart "
            "uploads to a store without them, as MLflow answers",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                "text/html": {},
                "text/plain": {},  # a static file that is not there
            },
        },
    }


def _operation_id(method: str, path: str) -> str:
    return method.lower() + "_" + (re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root")


def _operation(method: str, template: str, endpoint: Any) -> dict[str, Any]:
    path_params = _PATH_PARAM.findall(template)
    parameters: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}} for p in path_params
    ]
    handler = getattr(endpoint, "__wrapped__", None)
    bare = API_PREFIX.sub("", template)
    operation: dict[str, Any] = {"operationId": _operation_id(method, template)}
    if handler is not None:
        fields = [f for f in parameters_of(handler) if f.name not in path_params]
        operation["summary"] = (inspect.getdoc(handler) or handler.__name__).split("\n")[0]
        if method in ("GET", "HEAD"):
            parameters += [
                {"name": f.name, "in": "query", "required": f.required, "schema": _schema(f.kind, in_query=True)}
                for f in fields
            ]
        elif fields:
            body: dict[str, Any] = {
                "type": "object",
                "properties": {f.name: _schema(f.kind, in_query=False) for f in fields},
            }
            required = [f.name for f in fields if f.required]
            if required:
                body["required"] = required
            operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        operation["responses"] = _responses("application/json", response_schema(method, bare))
    else:
        listed = (f"{method} {bare}", bare, f"{method} {template}", template)
        other = next((OTHER_ROUTES[key] for key in listed if key in OTHER_ROUTES), None)
        if other is None:
            other = Other("text/html", "A page of the web UI")
        operation["summary"] = other.summary
        parameters += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in other.query]
        if other.body is not None and method in ("POST", "PUT"):
            operation["requestBody"] = {"content": {other.body: {"schema": {"type": "string", "format": "binary"}}}}
        elif method == "PUT":
            body_schema = {"type": "string", "format": "binary"}
            operation["requestBody"] = {"content": {"application/octet-stream": {"schema": body_schema}}}
        operation["responses"] = _responses(other.media_type)
    if parameters:
        operation["parameters"] = parameters
    operation["tags"] = [_tag(bare)]
    return operation


def _tag(path: str) -> str:
    parts = [p for p in path.split("/") if p and not p.startswith("{")]
    if not parts:
        return "ui"
    if parts[0] in ("mlflow", "dockyard") and len(parts) > 1:
        return f"{parts[0]}/{parts[1]}"
    return parts[0]


def served_operations(routes: list[Any]) -> list[tuple[str, str, Any]]:
    """``(method, OpenAPI path, endpoint)`` for every route and method the app serves (HEAD left out:
    Starlette answers it wherever GET is)."""
    out = []
    for route in routes:
        methods = getattr(route, "methods", None) or ()
        path = getattr(route, "path", None)
        if path is None:
            continue
        template = _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
        for method in sorted(methods):
            if method != "HEAD":
                out.append((method, template, route.endpoint))
    return out


def openapi_document(routes: list[Any], *, auth: bool) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``routes`` (an app's ``app.routes``)."""
    paths: dict[str, dict[str, Any]] = {}
    for method, template, endpoint in served_operations(routes):
        paths.setdefault(template, {})[method.lower()] = _operation(method, template, endpoint)
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "Dockyard tracking server",
            "version": __version__,
            "description": "MLflow's REST API (tracking, model registry, artifact proxy, auth) and Dockyard's "
            "extensions under /api/2.0/dockyard. Generated from the server's routes.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **copy.deepcopy(COMPONENTS)},
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "token": {"type": "http", "scheme": "bearer"},
            },
        },
    }
    if auth:
        document["security"] = [{"basic": []}, {"token": []}]
    return document
