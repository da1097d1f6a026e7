"""What every UI view goes through: :class:`UIRequest` and the :func:`page` decorator.

A view is a plain function ``(ui: UIRequest) -> Response`` listed in its module's ``ROUTES``; it runs in a
worker thread (the stores are synchronous) and calls the same service functions as the REST API
(``ui.tracking``, ``ui.registry``). :func:`page` does the rest:

- the signed-in user (``ui.user``; None when the server runs without auth) and permission checks
  (``ui.can(...)``, ``ui.require(...)``, ``ui.readable(...)``);
- on POST: the form (``ui.form``), refused with 403 unless it carries the CSRF token (``csrf_token``
  field, or the ``X-CSRF-Token`` header for htmx) and comes from this site (``Origin``);
- a :class:`~dockyard.core.errors.DockyardError` raised by the view becomes an HTML error page with its
  status (404, 403, 400...); anything else a 500 page that shows only the request id;
- ``ui.render(template, **context)`` (the full page, or with ``partial=`` its fragment when htmx asks),
  ``ui.redirect(url, flash=...)`` (a message shown once on the next page), ``ui.json(payload)``.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from dockyard.core.asgi import request_id
from dockyard.core.errors import DockyardError, PermissionDenied, StoreUnavailable
from dockyard.server.ui import session as sess
from dockyard.server.ui.templating import CONTENT_SECURITY_POLICY, render_template

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from dockyard.registry.protocol import RegistryAPI
    from dockyard.server.auth.entities import User
    from dockyard.server.context import ServerContext
    from dockyard.tracking.protocol import TrackingAPI

logger = logging.getLogger("dockyard.server")

View = Callable[["UIRequest"], "Response"]


class CsrfRefused(PermissionDenied):
    """A POST without this site's CSRF token, or from another origin."""


@dataclass
class UIRequest:
    """One request to a page: the services, the caller, the query, the form, and the response helpers."""

    request: Request
    ctx: ServerContext
    user: User | None  # None: the server runs without auth (everyone may do everything)
    csrf_token: str
    form: dict[str, str] = field(default_factory=dict)  # a POST's fields (the last value of a repeated one)
    form_lists: dict[str, list[str]] = field(default_factory=dict)  # a POST's fields, every value
    flash: str | None = None  # the message the previous action left for this page
    _set_csrf_cookie: bool = False

    # ------------------------------------------------------------------ services and the caller

    @property
    def tracking(self) -> TrackingAPI:
        return self.ctx.tracking

    @property
    def registry(self) -> RegistryAPI:
        if self.ctx.registry is None:
            raise StoreUnavailable("this server has no model registry")
        return self.ctx.registry

    @property
    def auth_on(self) -> bool:
        return self.ctx.auth is not None

    def can(self, resource_type: str, resource_id: str, action: str = "read") -> bool:
        """Whether the caller may ``action`` (read, update, delete, manage) the experiment or registered
        model; always True without auth. Use it to decide which actions a page offers."""
        if self.ctx.auth is None or self.user is None:
            return self.ctx.auth is None
        return self.ctx.auth.permission(self.user, resource_type, str(resource_id)).can(action)

    def require(self, resource_type: str, resource_id: str, action: str = "read") -> None:
        """PermissionDenied (a 403 page) unless :meth:`can`."""
        if self.ctx.auth is None:
            return
        if self.user is None:
            raise PermissionDenied("Permission denied: sign in first")
        self.ctx.auth.require(self.user, resource_type, str(resource_id), action)

    def readable(self, resource_type: str) -> Callable[[str], bool]:
        """A test of which experiments (or registered models, by name) the caller may read: for lists."""
        if self.ctx.auth is None:
            return lambda _resource_id: True
        if self.user is None:
            return lambda _resource_id: False
        return self.ctx.auth.readable(self.user, resource_type)

    @property
    def username(self) -> str | None:
        return None if self.user is None else self.user.username

    # ------------------------------------------------------------------ the request

    @property
    def path_params(self) -> dict[str, Any]:
        return dict(self.request.path_params)

    def query(self, name: str, default: str = "") -> str:
        return str(self.request.query_params.get(name, default))

    def query_list(self, name: str) -> list[str]:
        """A repeated parameter, or one comma-separated value, as a list (``?runs=a,b`` or ``?runs=a&runs=b``)."""
        values = self.request.query_params.getlist(name)
        return [item.strip() for value in values for item in value.split(",") if item.strip()]

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true" and self.request.headers.get("hx-boosted") != "true"

    # ------------------------------------------------------------------ responses

    def render(self, template: str, *, status: int = 200, partial: str | None = None, **context: Any) -> Response:
        """The page ``template`` (extending ``base.html``), or ``partial`` alone when htmx asks for it."""
        from starlette.responses import HTMLResponse

        name = partial if partial is not None and self.is_htmx else template
        html = render_template(name, {**self.base_context(), **context})
        response = HTMLResponse(html, status_code=status, headers=page_headers())
        self.finish(response)
        return response

    def base_context(self) -> dict[str, Any]:
        """What every template may use: ``ui`` (this object), ``user``, ``csrf_token``, ``flash``, ``path``."""
        return {
            "ui": self,
            "user": self.user,
            "auth_on": self.auth_on,
            "csrf_token": self.csrf_token,
            "csrf_field": sess.CSRF_FIELD,
            "flash": self.flash,
            "path": self.request.url.path,
            "has_registry": self.ctx.registry is not None,
        }

    def redirect(self, url: str, *, flash: str | None = None) -> Response:
        """303 to ``url`` (a local path); ``flash`` is shown once on the page it leads to. To htmx, an
        ``HX-Redirect`` so the whole page changes."""
        from starlette.responses import RedirectResponse, Response

        target = local_path(url)
        response: Response
        if self.is_htmx:
            response = Response(status_code=204, headers={"HX-Redirect": target})
        else:
            response = RedirectResponse(target, status_code=303)
        if flash:
            response.set_cookie(sess.FLASH_COOKIE, quote(flash[:500]), max_age=60, httponly=True, samesite="lax")
        self.finish(response, keep_flash=bool(flash))
        return response

    def json(self, payload: Any, *, status: int = 200) -> Response:
        """A JSON answer for the page's own scripts (chart data): same encoding as the API."""
        from dockyard.server.http import json_response

        response = json_response(payload, status)
        self.finish(response)
        return response

    def finish(self, response: Response, *, keep_flash: bool = False) -> None:
        """Cookies every answer carries: a new CSRF cookie when the browser had none, the flash consumed."""
        secure = self.request.url.scheme == "https"
        if self._set_csrf_cookie:
            response.set_cookie(sess.CSRF_COOKIE, self.csrf_token, httponly=True, samesite="lax", secure=secure)
        if self.flash is not None and not keep_flash:
            response.delete_cookie(sess.FLASH_COOKIE)


def page_headers() -> dict[str, str]:
    return {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"}


def local_path(url: str) -> str:
    """``url`` if it is a path on this site, else ``/``: a ``next=`` parameter cannot send anyone away.

    >>> local_path("/experiments/1?x=2"), local_path("//evil.example/"), local_path("https://evil.example")
    ('/experiments/1?x=2', '/', '/')
    """
    if not url.startswith("/") or url.startswith("//") or url.startswith("/\\") or any(ord(c) < 32 for c in url):
        return "/"
    return url


def _expected_csrf(request: Request) -> tuple[str, bool]:
    """The CSRF token this browser's forms must carry, and whether its cookie must be set now."""
    token = request.cookies.get(sess.SESSION_COOKIE)
    if token and request.headers.get("authorization") is None:
        return sess.csrf_for_session(token), False
    secret = request.cookies.get(sess.CSRF_COOKIE)
    if secret and 16 <= len(secret) <= 128:
        return secret, False
    return sess.new_csrf_secret(), True


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # "null": a sandboxed or privacy-stripped cross-site form
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def page(view: View) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint around ``view(ui) -> Response`` (see the module docstring)."""
    from starlette.concurrency import run_in_threadpool

    async def handle(request: Request) -> Response:
        csrf, new_cookie = _expected_csrf(request)
        flash = request.cookies.get(sess.FLASH_COOKIE)
        ui = UIRequest(
            request=request,
            ctx=request.app.state.ctx,
            user=getattr(request.state, "user", None),
            csrf_token=csrf,
            flash=unquote(flash) if flash else None,
            _set_csrf_cookie=new_cookie,
        )
        try:
            if request.method == "POST":
                await _read_form(ui, request)
                sent = ui.form.get(sess.CSRF_FIELD) or request.headers.get(sess.CSRF_HEADER, "")
                if new_cookie or not hmac.compare_digest(sent.encode(), csrf.encode()) or not _same_origin(request):
                    raise CsrfRefused(
                        "This form could not be verified (missing or stale CSRF token, or sent from another "
                        "site): reload the page and try again"
                    )
            return await run_in_threadpool(view, ui)
        except DockyardError as exc:
            if exc.http_status >= 500:
                return _internal_error(ui, exc)
            return error_page(ui, exc.http_status, exc.message)
        except Exception as exc:  # the page of last resort: logged with the request id
            return _internal_error(ui, exc)

    handle.__name__ = view.__name__
    handle.__doc__ = view.__doc__
    return handle


async def _read_form(ui: UIRequest, request: Request) -> None:
    from dockyard.core.errors import InvalidParameter

    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise InvalidParameter(f"a form must be sent as application/x-www-form-urlencoded, got {content_type!r}")
    form = await request.form(max_files=0, max_fields=1000)
    for key, value in form.multi_items():
        if isinstance(value, str):
            ui.form_lists.setdefault(key, []).append(value)
            ui.form[key] = value


def error_page(ui: UIRequest, status: int, message: str) -> Response:
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 413: "Too large", 415: "Bad request"}
    if ui.is_htmx:
        # The message goes into the page's message area. Answered 200: htmx swaps nothing of an error
        # status and logs it to the console as a failure, though the page handled it.
        from starlette.responses import HTMLResponse

        html = render_template("_error_fragment.html", {"status": status, "message": message})
        headers = {**page_headers(), "HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
        return HTMLResponse(html, status_code=200, headers=headers)
    return ui.render("error.html", status=status, title=titles.get(status, "Error"), message=message)


def _internal_error(ui: UIRequest, exc: BaseException) -> Response:
    rid = request_id(ui.request.scope)
    logger.error(
        "request %s failed: %s %s",
        rid,
        ui.request.method,
        ui.request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_page(ui, 500, f"Something went wrong on the server (request id {rid}).")


def as_json(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<`` escaped so it cannot close the tag."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
