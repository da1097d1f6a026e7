"""Fixtures of the browser tests: real ``dockyard server`` processes and Debian's Chromium driven by
Playwright, failing a test on any console error or failed request, with screenshots of every page.

- ``ui_server``: a server without auth (one per test module) whose store the module fills itself.
- ``auth_ui_server``: a server with auth on; ``admin`` signs in with :data:`ADMIN_PASSWORD`.
- ``browser``: one headless Chromium per session.
- ``open_page(base_url, phone=False)``: a fresh browser context and page (laptop 1366x900, or a phone
  390x844); at the end of the test it fails if the page logged a console error, threw, or saw a request
  fail or answer >= 400, unless the test called ``page_errors.allow(pattern)`` for it.
- ``screenshot(page, name)``: a full-page PNG in ``tests/.output/ui/<name>.png`` (look at them).
- ``sign_in(page, username="admin", password=ADMIN_PASSWORD)``: fill and submit the form of ``/login``.
- ``signed_in_page(base_url, path="/login", username="admin", password=ADMIN_PASSWORD)``: ``open_page``,
  go to ``path`` (the sign-in page, or a page that redirects there) and sign in; returns the page.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from server.dockyard_process import Server, dockyard_server

ADMIN_PASSWORD = "admin-passw0rd-ui"  # a test server's
ADMIN = ("admin", ADMIN_PASSWORD)  # httpx2 auth for the REST API of ``auth_ui_server``
OUTPUT = Path(__file__).resolve().parents[2] / ".output" / "ui"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get)")
    return found


@pytest.fixture(scope="module")
def ui_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with dockyard_server(tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])) as running:
        yield running


@pytest.fixture(scope="module")
def auth_ui_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2] + "-auth")
    env = {"DOCKYARD_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with dockyard_server(root, extra=("--auth",), env=env) as running:
        yield running


# Module scope, not session: Playwright's sync API keeps its event loop running in this thread while it is
# open, and a later module's asyncio.run() would then fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class PageErrors:
    """What went wrong in the test's pages; ``allow`` a message or URL pattern the test expects."""

    seen: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def add(self, text: str) -> None:
        self.seen.append(text)

    def unexpected(self) -> list[str]:
        return [s for s in self.seen if not any(p.search(s) for p in self.allowed)]


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


def _failed(errors: PageErrors, request: Any) -> None:
    # ERR_ABORTED: the browser dropped a request because the test navigated away first, not a failure.
    if "ERR_ABORTED" not in str(request.failure):
        errors.add(f"request failed: {request.method} {request.url} {request.failure}")


@pytest.fixture
def open_page(browser: Any, page_errors: PageErrors) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def make(base_url: str, *, phone: bool = False) -> Any:
        context = browser.new_context(
            base_url=base_url,
            viewport=PHONE if phone else LAPTOP,
            is_mobile=phone,
            has_touch=phone,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda msg: msg.type == "error" and page_errors.add(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: page_errors.add(f"page error: {exc}"))
        page.on("requestfailed", lambda req: _failed(page_errors, req))
        page.on("response", lambda resp: resp.status >= 400 and page_errors.add(f"HTTP {resp.status}: {resp.url}"))
        return page

    yield make
    for context in contexts:
        context.close()
    unexpected = page_errors.unexpected()
    assert not unexpected, "the browser saw errors:\n" + "\n".join(unexpected)


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Any, str], Path]:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    ignore = OUTPUT.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")  # test output: never committed

    def take(page: Any, name: str) -> Path:
        path = OUTPUT / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _sign_in(page: Any, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


@pytest.fixture(scope="session")
def sign_in() -> Callable[..., None]:
    """``sign_in(page, username="admin", password=ADMIN_PASSWORD)``: fill and submit the form of ``/login``."""
    return _sign_in


@pytest.fixture
def signed_in_page(open_page: Callable[..., Any]) -> Callable[..., Any]:
    """``signed_in_page(base_url, path="/login", username="admin", password=ADMIN_PASSWORD)``: a fresh page
    (``open_page``) that went to ``path`` (the sign-in page or one that redirects there) and signed in."""

    def make(base_url: str, path: str = "/login", username: str = "admin", password: str = ADMIN_PASSWORD) -> Any:
        page = open_page(base_url)
        page.goto(path)
        _sign_in(page, username, password)
        return page

    return make
