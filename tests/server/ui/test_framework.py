"""The UI's framework in a real browser against a real server with auth on: sign-in and sign-out, the
session cookie, CSRF refusal, permissions on what a page shows and offers, MLflow's ``/#/`` links,
static files' cache headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from server.dockyard_process import Server
from server.ui.conftest import ADMIN

BOB = ("bob", "bob-passw0rd-ui")


@pytest.fixture(scope="module")
def world(auth_ui_server: Server) -> dict[str, str]:
    """Two experiments (one hidden from bob) and bob, a user who may only read."""
    api = f"{auth_ui_server.url}/api/2.0/mlflow"
    with httpx2.Client(auth=ADMIN, timeout=30) as http:
        http.post(f"{api}/users/create", json={"username": BOB[0], "password": BOB[1]}).raise_for_status()
        shared = http.post(f"{api}/experiments/create", json={"name": "shared-experiment"}).json()["experiment_id"]
        secret = http.post(f"{api}/experiments/create", json={"name": "secret-experiment"}).json()["experiment_id"]
        http.post(
            f"{api}/experiments/permissions/create",
            json={"experiment_id": secret, "username": "bob", "permission": "NO_PERMISSIONS"},
        ).raise_for_status()
        run = http.post(f"{api}/runs/create", json={"experiment_id": shared, "run_name": "first-run"}).json()["run"]
    return {"shared": shared, "secret": secret, "run": run["info"]["run_id"]}


def test_a_page_sends_a_browser_to_sign_in_and_back(
    auth_ui_server: Server, world: dict[str, str], open_page: Callable[..., Any], screenshot: Any, sign_in: Any
) -> None:
    page = open_page(auth_ui_server.url)
    page.goto(f"/experiments/{world['shared']}?filter=attributes.status+%3D+%27RUNNING%27")
    assert page.url.startswith(f"{auth_ui_server.url}/login?next=")
    screenshot(page, "login")
    sign_in(page)
    assert page.url.endswith(f"/experiments/{world['shared']}?filter=attributes.status+%3D+%27RUNNING%27")
    assert page.get_by_role("heading", name="shared-experiment").is_visible()
    assert page.get_by_label("Filter runs").input_value() == "attributes.status = 'RUNNING'"
    # The API ignores the cookie: clients sign in with a header.
    assert page.request.get("/api/2.0/mlflow/experiments/search").status == 401


def test_a_wrong_password_is_said_on_the_form(
    auth_ui_server: Server, world: dict[str, str], open_page: Callable[..., Any], sign_in: Any
) -> None:
    page = open_page(auth_ui_server.url)
    page.goto("/login")
    sign_in(page, "admin", "not-the-password")
    assert page.get_by_role("alert").inner_text() == "invalid user name or password"
    assert page.url.endswith("/login")


def test_signing_out_revokes_the_session(
    auth_ui_server: Server, world: dict[str, str], signed_in_page: Callable[..., Any]
) -> None:
    page = signed_in_page(auth_ui_server.url)
    session = next(c for c in page.context.cookies() if c["name"] == "dockyard_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto("/")
    assert page.url.endswith("/login")
    # The old token no longer signs anyone in, even when replayed.
    answer = httpx2.get(f"{auth_ui_server.url}/", cookies={"dockyard_session": session["value"]})
    assert answer.status_code == 303


def test_signing_out_revokes_only_a_session_the_caller_holds(
    auth_ui_server: Server, world: dict[str, str], signed_in_page: Callable[..., Any]
) -> None:
    page = signed_in_page(auth_ui_server.url)
    victim = next(c for c in page.context.cookies() if c["name"] == "dockyard_session")["value"]
    token_id = victim.split("_")[1]
    # bob, signed in by his password, names the admin's session id in a cookie with a made-up secret.
    csrf = "c" * 32
    forged = httpx2.post(
        f"{auth_ui_server.url}/logout",
        auth=BOB,
        cookies={"dockyard_session": f"dyt_{token_id}_made-up-secret", "dockyard_csrf": csrf},
        data={"csrf_token": csrf},
    )
    assert forged.status_code == 303
    # The admin's session still signs the admin in.
    page.goto("/")
    assert not page.url.endswith("/login")
    answer = httpx2.get(f"{auth_ui_server.url}/", cookies={"dockyard_session": victim})
    assert answer.status_code == 200


def test_a_form_without_the_csrf_token_is_refused(
    auth_ui_server: Server, world: dict[str, str], signed_in_page: Callable[..., Any]
) -> None:
    page = signed_in_page(auth_ui_server.url)
    refused = page.request.post("/experiments/create", form={"name": "forged"})
    assert refused.status == 403
    assert "could not be verified" in refused.text()
    forged_origin = page.request.post(
        "/experiments/create",
        form={"name": "forged", "csrf_token": "whatever"},
        headers={"Origin": "https://evil.example"},
    )
    assert forged_origin.status == 403
    page.goto("/?q=forged")
    assert "No experiment's name contains" in page.inner_text("#experiments-table")


def test_a_reader_sees_only_what_they_may_read_and_no_actions(
    auth_ui_server: Server,
    world: dict[str, str],
    signed_in_page: Callable[..., Any],
    screenshot: Any,
    page_errors: Any,
) -> None:
    page = signed_in_page(auth_ui_server.url, "/login", *BOB)
    table = page.inner_text("#experiments-table")
    assert "shared-experiment" in table
    assert "secret-experiment" not in table
    assert page.get_by_role("button", name="Delete shared-experiment").count() == 0
    assert page.get_by_role("button", name="Rename shared-experiment").count() == 0
    screenshot(page, "experiments-as-reader")
    page_errors.allow(r"403")  # asked for below, on purpose
    page.goto(f"/experiments/{world['secret']}")
    assert page.get_by_role("heading", name="Not allowed").is_visible()


def test_an_admin_creates_renames_and_deletes_an_experiment(
    auth_ui_server: Server, world: dict[str, str], signed_in_page: Callable[..., Any]
) -> None:
    page = signed_in_page(auth_ui_server.url)
    page.get_by_role("button", name="New experiment").click()
    page.get_by_label("Name", exact=True).fill("made-in-the-ui")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url("**/experiments/*")
    assert page.get_by_role("heading", name="made-in-the-ui").is_visible()
    assert "Created experiment" in page.inner_text("#messages")
    experiment_id = page.url.rsplit("/", 1)[1]
    page.goto("/?q=made-in")
    page.get_by_role("button", name="Rename made-in-the-ui").click()
    page.get_by_label("New name for made-in-the-ui").fill("renamed-in-the-ui")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    assert "renamed-in-the-ui" in page.inner_text("#experiments-table")
    answers = ["no", "yes"]  # the first confirmation is refused: nothing is deleted
    page.on("dialog", lambda dialog: dialog.dismiss() if answers.pop(0) == "no" else dialog.accept())
    page.get_by_role("button", name="Delete renamed-in-the-ui").click()
    page.wait_for_timeout(300)  # a refused submit sends nothing, so there is no event to wait for
    assert answers == ["yes"] and "Deleted experiment" not in page.inner_text("#messages")
    with httpx2.Client(auth=ADMIN) as http:
        got = http.get(f"{auth_ui_server.url}/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment_id})
    assert got.json()["experiment"]["lifecycle_stage"] == "active"
    page.get_by_role("button", name="Delete renamed-in-the-ui").click()
    page.wait_for_load_state("load")
    assert "Deleted experiment" in page.inner_text("#messages")
    with httpx2.Client(auth=ADMIN) as http:
        got = http.get(f"{auth_ui_server.url}/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment_id})
    assert got.json()["experiment"]["lifecycle_stage"] == "deleted"


def test_mlflow_links_land_on_the_same_pages(
    auth_ui_server: Server, world: dict[str, str], open_page: Callable[..., Any], sign_in: Any
) -> None:
    page = open_page(auth_ui_server.url)
    page.goto(f"/#/experiments/{world['shared']}/runs/{world['run']}")
    assert "/login" in page.url
    sign_in(page)  # the link survives the sign-in
    page.wait_for_url(f"**/runs/{world['run']}")
    page.goto(f"/#/experiments/{world['shared']}")
    page.wait_for_url(f"**/experiments/{world['shared']}")


def test_static_files_are_cached_for_a_year_and_pages_not_at_all(auth_ui_server: Server) -> None:
    page = httpx2.get(f"{auth_ui_server.url}/login")
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    css = httpx2.get(f"{auth_ui_server.url}/static/app.css", headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert css.headers["content-encoding"] == "gzip"
    for name in ("htmx/LICENSE", "uplot/LICENSE", "echarts/LICENSE", "README.md"):
        assert httpx2.get(f"{auth_ui_server.url}/static/vendor/{name}").status_code == 200
