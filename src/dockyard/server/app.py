"""The composition root of the server: ``create_app(settings, *, tracking, artifacts, registry)``.

No module-level app, engine or store: the CLI (or a test) builds the services and hands them in, and
uvicorn runs the returned app in process.

Every MLflow endpoint is served twice, under ``/api/2.0`` (what clients call) and ``/ajax-api/2.0``
(what MLflow's UI calls), as MLflow does. Unknown routes get a plain 404, so clients that probe for
optional endpoints fall back as they would with MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.__about__ import __version__
from dockyard.core.errors import DockyardError
from dockyard.server.context import ServerContext
from dockyard.server.http import dockyard_error, endpoint, unexpected_error
from dockyard.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from dockyard.server.metrics import MetricsMiddleware, ServerMetrics
from dockyard.server.middleware import middleware
from dockyard.server.openapi import OPENAPI_PATH

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from dockyard.artifacts import ArtifactStore
    from dockyard.core.config import Settings
    from dockyard.registry.protocol import RegistryAPI
    from dockyard.server.auth.service import AuthService
    from dockyard.tracking.protocol import TrackingAPI

# The MLflow release whose REST API this server implements: what GET /version reports, because MLflow's
# clients gate features on the server's version (MLflow 3's OTLP exporter refuses servers older than 3.4).
# Dockyard's own version is in the X-Dockyard-Version header and at /api/2.0/dockyard/version.
MLFLOW_API_VERSION = "3.17.2"

PREFIXES = ("/api/2.0", "/ajax-api/2.0")
PREFIXES_V3 = ("/api/3.0", "/ajax-api/3.0")


def _api_routes(*, with_registry: bool = False) -> list[Any]:
    from starlette.routing import Route

    from dockyard.server.api import (
        experiments,
        extensions,
        gates,
        logged_models,
        model_versions,
        registered_models,
        registry_extensions,
        runs,
        webhooks,
    )

    modules: list[Any] = [experiments, runs, logged_models, extensions]
    if with_registry:
        modules += [registered_models, model_versions, registry_extensions, gates, webhooks]
    routes = []
    for module in modules:
        for method, path, handler in module.ROUTES:
            for prefix in PREFIXES:
                routes.append(Route(prefix + path, endpoint(handler), methods=[method]))
    return routes


def _auth_routes() -> list[Any]:
    from starlette.routing import Route

    from dockyard.server.auth import api

    return [
        Route(prefix + path, endpoint(handler), methods=[method])
        for routes, prefixes in ((api.ROUTES, PREFIXES), (api.ROUTES_V3, PREFIXES_V3))
        for method, path, handler in routes
        for prefix in prefixes
    ]


def _ui_routes(*, with_registry: bool) -> list[Any]:
    from dockyard.server.ui.routes import ui_routes

    return ui_routes(with_registry=with_registry)


def create_app(
    settings: Settings,
    *,
    tracking: TrackingAPI,
    artifacts: ArtifactStore | None = None,
    registry: RegistryAPI | None = None,
    auth: AuthService | None = None,
    metrics: ServerMetrics | None = None,
) -> Starlette:
    """The tracking server as an ASGI app; ``artifacts`` is the proxy's destination (None: no proxy),
    ``registry`` the model registry (None: no registry routes), ``auth`` sign-in and permissions (None:
    every caller may do everything, for a server only its own machine can reach), ``metrics`` the figures
    served at ``/metrics`` (None: counted by this app alone, without the database pool)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    from dockyard.server.api import artifacts as artifact_api

    async def health(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("OK")

    async def version(_request: Any) -> PlainTextResponse:
        return PlainTextResponse(MLFLOW_API_VERSION, headers={"X-Dockyard-Version": __version__})

    async def dockyard_version(_request: Any) -> JSONResponse:
        return JSONResponse({"version": __version__, "mlflow_api_version": MLFLOW_API_VERSION})

    described: list[dict[str, Any]] = []  # the OpenAPI document, made on first request from the routes
    counted = metrics or ServerMetrics()

    async def served_metrics(_request: Any) -> Response:
        return Response(counted.render(), media_type=METRICS_CONTENT_TYPE)

    async def openapi(request: Any) -> JSONResponse:
        from dockyard.server.openapi import openapi_document

        if not described:
            described.append(openapi_document(request.app.routes, auth=auth is not None))
        return JSONResponse(described[0])

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route(OPENAPI_PATH, openapi, methods=["GET"]),  # the whole API, generated (server/openapi.py)
        Route("/metrics", served_metrics, methods=["GET"]),  # Prometheus (server/metrics.py)
        *(Route(f"{prefix}/dockyard/version", dockyard_version, methods=["GET"]) for prefix in PREFIXES),
        *_api_routes(with_registry=registry is not None),
        *artifact_api.routes(PREFIXES),
        *artifact_api.root_routes(with_registry=registry is not None),
        *(_auth_routes() if auth is not None else []),
        *_ui_routes(with_registry=registry is not None),  # the web UI: pages at /, files at /static
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware(settings),  # request ids, security headers, access log, Host check, CORS
        exception_handlers={DockyardError: dockyard_error, Exception: unexpected_error},
    )
    app.state.ctx = ServerContext(
        settings=settings, tracking=tracking, artifacts=artifacts, registry=registry, auth=auth
    )
    # Outermost: every request counts, the ones the host check or sign-in refuse too.
    app.user_middleware.insert(0, Middleware(MetricsMiddleware, metrics=counted))
    if auth is not None:
        from dockyard.server.auth.middleware import AuthMiddleware

        # Innermost: the host check, headers and access log of other middleware also cover a 401.
        app.user_middleware.append(Middleware(AuthMiddleware, auth=auth))
    return app
