"""What ``create_app`` mounts for the web UI: every page module's ``ROUTES`` and ``/static``.

Paths the UI serves are everything but the API (``/api/...``, ``/ajax-api/...``), ``/health`` and
``/version``; the auth middleware asks :func:`is_ui_path` to decide whether an unauthenticated request
is sent to ``/login`` (a page) or answered 401 (the API), and whether the session cookie counts (pages
only: API clients sign in with the ``Authorization`` header).

>>> is_ui_path("/experiments/1"), is_ui_path("/api/2.0/mlflow/runs/get"), is_public_ui_path("/static/app.css")
(True, False, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.server.ui.templating import STATIC

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

_NOT_UI = ("/api/", "/ajax-api/")
# MLflow's download routes at the root are API calls too (its clients get 401, not the sign-in page).
_NOT_UI_EXACT = frozenset({"/health", "/version", "/get-artifact", "/model-versions/get-artifact", "/metrics"})
# Open to everyone: the sign-in page and the files it needs.
_PUBLIC_EXACT = frozenset({"/login", "/favicon.ico"})
STATIC_CACHE = "public, max-age=31536000, immutable"  # URLs carry a content hash (templating.static_url)


def is_ui_path(path: str) -> bool:
    return not path.startswith(_NOT_UI) and path not in _NOT_UI_EXACT


def is_public_ui_path(path: str) -> bool:
    return path in _PUBLIC_EXACT or path.startswith("/static/")


def page_modules() -> list[Any]:
    """The modules whose ``ROUTES`` the UI serves."""
    from dockyard.server.ui.pages import auth, compare, experiments, models, runs

    return [auth, experiments, runs, compare, models]


def ui_routes(*, with_registry: bool) -> list[Any]:
    """The UI's routes for ``Starlette(routes=...)``: pages (``with_registry``: the registry's too) and static."""
    from starlette.routing import Route

    from dockyard.server.ui.page import page

    routes: list[Any] = []
    for module in page_modules():
        if getattr(module, "NEEDS_REGISTRY", False) and not with_registry:
            continue
        for method, path, view in module.ROUTES:
            routes.append(Route(path, page(view), methods=[method]))
    # A route, not a Mount: every served route has a method and an auth rule (server/auth/policy.py).
    routes.append(Route("/static/{path:path}", _static_app(), methods=["GET", "HEAD"]))
    return routes


def _static_app() -> Any:
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.staticfiles import StaticFiles

    files = StaticFiles(directory=str(STATIC))

    async def cached(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_cache(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                message = {**message, "headers": [*message["headers"], (b"cache-control", STATIC_CACHE.encode())]}
            await send(message)

        # StaticFiles looks a file up by the request's path: the part after /static.
        inner = {**scope, "path": "/" + scope["path_params"]["path"], "root_path": ""}
        await files(inner, receive, send_with_cache)

    return GZipMiddleware(cached, minimum_size=1024)
