"""The registry's pages in a real browser against a real server: the registered-models table (versions
under each alias and stage), a model's page (promote and roll back with a reason, the audit history), a
version's page (signature, requirements, input example, training profile, lineage, diff), MLflow's
``/#/models/...`` links, and with auth on, what a read-only user is (not) offered."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx2
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

import dockyard
import dockyard.sklearn
from dockyard.lifecycle import fluent

from server.dockyard_process import Server
from server.ui.conftest import ADMIN

MODEL = "loan-default"
SPACED = "risk model (EU) & co's"  # a name to quote in URLs and filters
X = pd.DataFrame({"amount": [1000.0, 2500.0, 400.0, 1800.0], "grade": [1.0, 3.0, 2.0, 5.0]})
Y = [0.1, 0.4, 0.2, 0.7]
BOB = ("bob", "bob-passw0rd-models")


def _api(server: Server) -> str:
    return f"{server.url}/api/2.0"


@pytest.fixture(scope="module")
def world(ui_server: Server) -> dict[str, Any]:
    """Two versions of ``loan-default`` from two tracked runs (params, a metric, a dataset, a signature and
    an input example): v1 in Production and @challenger, v2 in Staging and @champion. And a second model
    whose name has spaces and a quote."""
    dockyard.set_tracking_uri(ui_server.url)
    dockyard.set_experiment("loans")
    runs = []
    try:
        for lr in (0.1, 0.3):
            with dockyard.start_run(run_name=f"fit-lr-{lr}") as run:
                dockyard.log_params({"lr": lr, "penalty": "l2"})
                dockyard.log_input(X, context="training", name="loans")
                dockyard.log_metric("auc", 0.7 + lr)
                dockyard.sklearn.log_model(
                    LinearRegression().fit(X, Y), name="model", input_example=X, registered_model_name=MODEL
                )
            runs.append(run.info.run_id)
    finally:
        fluent._state.client = None  # the next test starts afresh (tests/conftest.py closes the rest)
        fluent._state.__init__()  # type: ignore[misc]
    api = _api(ui_server)
    with httpx2.Client(timeout=30) as http:
        for version, stage in ((1, "Production"), (2, "Staging")):
            http.post(
                f"{api}/mlflow/model-versions/transition-stage",
                json={"name": MODEL, "version": str(version), "stage": stage, "archive_existing_versions": False},
            ).raise_for_status()
        http.post(
            f"{api}/mlflow/registered-models/alias", json={"name": MODEL, "alias": "challenger", "version": "1"}
        ).raise_for_status()
        http.post(
            f"{api}/dockyard/registry/promote",
            json={"name": MODEL, "version": "2", "alias": "champion", "reason": "better auc", "user_id": "ana"},
        ).raise_for_status()
        source = http.get(
            f"{api}/mlflow/model-versions/get-download-uri", params={"name": MODEL, "version": "1"}
        ).json()["artifact_uri"]
        http.post(f"{api}/mlflow/registered-models/create", json={"name": SPACED}).raise_for_status()
        http.post(
            f"{api}/mlflow/model-versions/create", json={"name": SPACED, "source": source, "run_id": runs[0]}
        ).raise_for_status()
    return {"runs": runs}


def _cells(page: Any, name: str) -> dict[str, str]:
    row = page.locator("table.models-table tbody tr").filter(has=page.get_by_role("link", name=name, exact=True))
    return {
        column: row.locator(f'td[data-column="{column}"]').inner_text().strip()
        for column in ("latest", "aliases", "staging", "production")
    }


def test_registered_models_page_shows_the_version_under_each_alias_and_stage(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto("/models")
    assert page.get_by_role("heading", name="Registered models").is_visible()
    assert _cells(page, MODEL) == {
        "latest": "Version 2",
        "aliases": "@challenger: v1 @champion: v2",
        "staging": "Version 2",
        "production": "Version 1",
    }
    assert _cells(page, SPACED)["latest"] == "Version 1"
    screenshot(page, "models-list")

    # The search narrows the table in place (htmx) and keeps the query in the URL.
    page.get_by_label("Search by name").fill("co's")
    page.wait_for_url(re.compile(r"/models\?q=co%27s$"))
    expect_rows = page.locator("table.models-table tbody tr")
    expect_rows.first.wait_for()
    page.wait_for_function("document.querySelectorAll('table.models-table tbody tr').length === 1")
    assert expect_rows.count() == 1
    page.get_by_role("link", name=SPACED, exact=True).click()
    page.wait_for_url(re.compile(r"/models/risk%20model%20%28EU%29%20%26%20co%27s$"))
    assert page.get_by_role("heading", name=SPACED).is_visible()


def test_the_pages_fit_a_phone(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url, phone=True)
    for path, name in (
        ("/models", "models-list-phone"),
        (f"/models/{MODEL}", "model-phone"),
        (f"/models/{MODEL}/versions/2", "model-version-phone"),
    ):
        page.goto(path)
        screenshot(page, name)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"{path} is {width}px wide on a 390px screen"


def _history_rows(page: Any) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("table.history-table tbody tr").all_inner_texts()]


def test_promote_and_roll_back_from_the_model_page(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/models/{MODEL}")
    screenshot(page, "model")
    assert "@champion moved" not in " ".join(_history_rows(page))
    assert _history_rows(page)[0].endswith("@champion set to version 2 better auc")

    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    form = page.locator("form#promote")
    form.get_by_label("Version", exact=True).select_option("1")
    form.get_by_label("Alias").fill("champion")
    form.get_by_label("Reason").fill("v2 drifts on new loans")
    form.get_by_role("button", name="Promote").click()
    page.wait_for_load_state("load")
    assert dialogs == [f"Promote version 1 of {MODEL} to @champion?"]
    assert page.locator("#messages").inner_text().strip() == f"Promoted version 1 of {MODEL} to @champion."
    newest = _history_rows(page)[0]
    assert "unknown @champion moved from version 2 to version 1 v2 drifts on new loans" in newest
    assert page.locator('tr[data-version="1"] td[data-column="aliases"]').inner_text().split() == [
        "@challenger",
        "@champion",
    ]

    rollback = page.locator("form#rollback")
    rollback.get_by_label("Alias").select_option("champion")
    rollback.get_by_label("Reason").fill("false alarm")
    rollback.get_by_role("button", name="Roll back").click()
    page.wait_for_load_state("load")
    assert dialogs[-1] == f"Roll back @champion of {MODEL} to the version it held before its last move?"
    assert "it is version 2 again" in page.locator("#messages").inner_text()
    newest = _history_rows(page)[0]
    assert newest.endswith("rollback @champion moved from version 1 to version 2 false alarm"), newest
    screenshot(page, "model-after-rollback")

    # The registered-models table follows.
    page.goto("/models")
    assert _cells(page, MODEL)["aliases"] == "@challenger: v1 @champion: v2"


def test_a_promotion_needs_a_reason_and_a_refusal_is_shown_on_the_form(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], page_errors: Any, screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/models/{MODEL}")
    token = page.locator('form#promote input[name="csrf_token"]').input_value()
    # The browser will not send the form without a reason (required); the server checks it too.
    assert page.locator("#promote-reason").get_attribute("required") is not None
    page_errors.allow(r"HTTP 400: .*/promote")
    page_errors.allow(r"console: Failed to load resource: .* 400")
    answer = page.request.post(
        f"/models/{MODEL}/promote",
        form={"csrf_token": token, "version": "1", "alias": "champion", "reason": "  "},
        max_redirects=0,
    )
    assert answer.status == 400
    assert "reason: say why you promote this version" in answer.text()
    # A refusal by the registry (no such version) is shown on the form, with what was typed kept.
    page.on("dialog", lambda dialog: dialog.accept())
    form = page.locator("form#promote")
    page.evaluate("document.querySelector('#promote-version').add(new Option('Version 9', '9', true, true))")
    form.get_by_label("Alias").fill("champion")
    form.get_by_label("Reason").fill("try a missing one")
    form.get_by_role("button", name="Promote").click()
    page.wait_for_load_state("load")
    assert "9" in page.get_by_role("alert").inner_text()
    assert page.locator("#promote-reason").input_value() == "try a missing one"
    screenshot(page, "model-promote-refused")


def test_version_page_shows_files_lineage_and_a_diff(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/models/{MODEL}/versions/2")
    assert page.get_by_role("heading", name=f"{MODEL} version 2").is_visible()
    signature = page.locator("table.signature").first
    assert "amount" in signature.inner_text() and "double" in signature.inner_text()
    assert "scikit-learn" in page.locator("pre.requirements").inner_text()
    example = page.locator("table.example")
    assert example.locator("thead").inner_text().split() == ["amount", "grade"]
    assert example.locator("tbody tr").count() == 4
    lineage = page.locator("table.lineage").inner_text()
    assert "fit-lr-0.3" in lineage
    datasets = page.get_by_role("table", name="Datasets").inner_text()
    assert "loans" in datasets and "training" in datasets
    assert page.get_by_role("link", name="fit-lr-0.3").first.get_attribute("href") == f"/runs/{world['runs'][1]}"
    screenshot(page, "model-version")

    page.get_by_label("Other version").select_option("1")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"against=1"))
    summary = page.locator("#diff-summary").inner_text()
    assert re.match(r"\d+ differences between version 2 and version 1\.", summary), summary
    lr = page.locator("table.diff tbody tr").filter(has_text="lr")
    assert lr.first.locator("td.differs").all_inner_texts() == ["0.3", "0.1"]
    page.get_by_label("Only what differs").check()
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"changed=1"))
    assert page.locator("table.diff tbody tr:not(.differs-row)").count() == 0
    screenshot(page, "model-version-diff")


def test_version_page_shows_the_training_profile(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    name = "profiled"
    frame = pd.DataFrame(
        {
            "amount": [float(v) for v in range(40)],
            "region": ["north"] * 25 + ["south"] * 10 + ["east"] * 4 + [None],
        }
    )
    dockyard.set_tracking_uri(ui_server.url)
    dockyard.set_experiment("loans")
    try:
        with dockyard.start_run(run_name="fit-profiled"):
            dockyard.sklearn.log_model(
                DummyRegressor().fit(frame, frame["amount"] * 2),  # takes the text column as it is
                name="model",
                training_data=frame,
                registered_model_name=name,
            )
    finally:
        fluent._state.client = None
        fluent._state.__init__()  # type: ignore[misc]
    page = open_page(ui_server.url)
    page.goto(f"/models/{name}/versions/1")
    assert page.get_by_role("heading", name="Training profile").is_visible()
    assert "40 rows, 2 columns" in page.locator("#profile-heading + p").inner_text()
    table = page.get_by_role("table", name="Training profile: per column, its type, null rate and distribution")
    amount = table.locator("tbody tr").filter(has_text="amount").inner_text()
    assert "numeric" in amount and "median 19.5" in " ".join(amount.split()) and "max 39" in amount
    region = " ".join(table.locator("tbody tr").filter(has_text="region").inner_text().split())
    assert "categorical" in region and "2.5%" in region  # one null in 40
    assert "north 64%" in region and "3 distinct" in region
    screenshot(page, "model-version-profile")
    page.goto(f"/models/{MODEL}/versions/2")  # logged without training data: no profile, no note about it
    assert page.get_by_role("heading", name="Training profile").count() == 0
    assert "training_profile" not in page.locator("main").inner_text()


def test_mlflow_links_land_on_the_model_pages(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/#/models/{MODEL}")
    page.wait_for_url(f"{ui_server.url}/models/{MODEL}")
    assert page.get_by_role("heading", name=MODEL, exact=True).is_visible()
    page.goto(f"/#/models/{MODEL}/versions/1")
    page.wait_for_url(f"{ui_server.url}/models/{MODEL}/versions/1")
    assert page.get_by_role("heading", name=f"{MODEL} version 1").is_visible()
    page.goto("/#/models")
    page.wait_for_url(f"{ui_server.url}/models")


def test_a_missing_model_or_version_is_a_404_page(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], page_errors: Any
) -> None:
    page_errors.allow(r"HTTP 404: .*/models/")
    page_errors.allow(r"console: Failed to load resource: .* 404")
    page = open_page(ui_server.url)
    assert page.goto("/models/no-such-model").status == 404
    assert page.goto(f"/models/{MODEL}/versions/42").status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()


def test_a_gate_refusal_is_shown_and_a_forced_promotion_is_recorded(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], page_errors: Any, screenshot: Any
) -> None:
    httpx2.post(
        f"{_api(ui_server)}/dockyard/registry/gates/set",
        json={"name": SPACED, "alias": "prod", "rules": ["roc_auc >= 0.9"]},
        timeout=30,
    ).raise_for_status()
    page_errors.allow(r"HTTP 400: .*/promote")
    page_errors.allow(r"console: Failed to load resource: .* 400")
    page = open_page(ui_server.url)
    page.goto(f"/models/{quote(SPACED, safe='')}")
    assert "@prod needs roc_auc >= 0.9" in page.locator("table.model-facts").inner_text()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    form = page.locator("form#promote")
    form.get_by_label("Alias").fill("prod")
    form.get_by_label("Reason").fill("hotfix")
    form.get_by_role("button", name="Promote").click()
    page.wait_for_load_state("load")
    assert "roc_auc >= 0.9" in page.get_by_role("alert").inner_text()
    form.get_by_label("Go past a failed validation gate").check()
    form.get_by_role("button", name="Promote").click()
    page.wait_for_load_state("load")
    assert dialogs[-1].endswith("Any failed validation gate is skipped (and recorded).")
    assert page.locator("#messages").inner_text().strip() == f"Promoted version 1 of {SPACED} to @prod."
    newest = _history_rows(page)[0]
    assert "@prod set to version 1 forced past the gate" in newest and newest.endswith("hotfix"), newest
    screenshot(page, "model-forced-past-gate")


# ---------------------------------------------------------------------- with auth on


@pytest.fixture(scope="module")
def auth_world(auth_ui_server: Server) -> dict[str, str]:
    """``shared-model`` (bob may read it: the default permission) and ``hidden-model`` (bob may not)."""
    api = f"{_api(auth_ui_server)}/mlflow"
    with httpx2.Client(auth=ADMIN, timeout=30) as http:
        http.post(f"{api}/users/create", json={"username": BOB[0], "password": BOB[1]}).raise_for_status()
        run = http.post(f"{api}/runs/create", json={"experiment_id": "0", "run_name": "trainer"}).json()["run"]
        for name in ("shared-model", "hidden-model"):
            http.post(f"{api}/registered-models/create", json={"name": name}).raise_for_status()
            http.post(
                f"{api}/model-versions/create",
                json={"name": name, "source": f"{run['info']['artifact_uri']}/model", "run_id": run["info"]["run_id"]},
            ).raise_for_status()
        http.post(
            f"{api}/registered-models/permissions/create",
            json={"name": "hidden-model", "username": BOB[0], "permission": "NO_PERMISSIONS"},
        ).raise_for_status()
        # Version 2 of shared-model comes from a run in an experiment bob may not read.
        private = http.post(f"{api}/experiments/create", json={"name": "private"}).json()["experiment_id"]
        http.post(
            f"{api}/experiments/permissions/create",
            json={"experiment_id": private, "username": BOB[0], "permission": "NO_PERMISSIONS"},
        ).raise_for_status()
        secret = http.post(f"{api}/runs/create", json={"experiment_id": private, "run_name": "secret-run"}).json()
        secret_run = secret["run"]["info"]
        http.post(
            f"{api}/runs/log-parameter", json={"run_id": secret_run["run_id"], "key": "secret_param", "value": "42"}
        ).raise_for_status()
        http.post(
            f"{api}/model-versions/create",
            json={
                "name": "shared-model",
                "source": f"{secret_run['artifact_uri']}/model",
                "run_id": secret_run["run_id"],
            },
        ).raise_for_status()
        http.post(
            f"{_api(auth_ui_server)}/dockyard/registry/promote",
            json={"name": "shared-model", "version": "1", "alias": "champion", "reason": "first"},
        ).raise_for_status()
    return {"run": run["info"]["run_id"]}


def test_a_read_only_user_is_offered_no_promotion(
    auth_ui_server: Server,
    auth_world: dict[str, str],
    signed_in_page: Callable[..., Any],
    screenshot: Any,
    page_errors: Any,
) -> None:
    page = signed_in_page(auth_ui_server.url, "/models", *BOB)
    assert page.url.endswith("/models")
    names = page.locator("table.models-table tbody tr td:first-child").all_inner_texts()
    assert names == ["shared-model"]
    page.get_by_role("link", name="shared-model").click()
    page.wait_for_url("**/models/shared-model")
    assert page.locator("form#promote").count() == 0 and page.locator("form#rollback").count() == 0
    assert page.locator("table.history-table").count() == 0
    assert "for the model's managers" in page.locator("main").inner_text()
    screenshot(page, "model-read-only")

    # Sending the form anyway is refused, and so is a model bob may not read.
    page_errors.allow(r"HTTP 403: .*/models/")
    page_errors.allow(r"console: Failed to load resource: .* 403")
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    refused = page.request.post(
        "/models/shared-model/promote", form={"csrf_token": token, "version": "1", "alias": "x", "reason": "r"}
    )
    assert refused.status == 403
    assert page.goto("/models/hidden-model").status == 403

    # A version whose run is in an experiment bob may not read: the version, not the run.
    page.goto("/models/shared-model/versions/2")
    text = page.locator("main").inner_text()
    assert "in an experiment you may not read" in text
    assert "secret_param" not in text and "secret-run" not in text
    page.goto("/models/shared-model/versions/2?against=1")
    assert "no diff" in page.locator("main").inner_text()
    screenshot(page, "model-version-read-only")


def test_the_admin_promotes_and_the_history_names_them(
    auth_ui_server: Server, auth_world: dict[str, str], signed_in_page: Callable[..., Any]
) -> None:
    page = signed_in_page(auth_ui_server.url, "/models/shared-model")
    page.on("dialog", lambda dialog: dialog.accept())
    form = page.locator("form#promote")
    form.get_by_label("Version", exact=True).select_option("1")
    form.get_by_label("Alias").fill("challenger")
    form.locator("#promote-stage").select_option("Staging")
    form.get_by_label("Reason").fill("shadow traffic")
    form.get_by_role("button", name="Promote").click()
    page.wait_for_load_state("load")
    rows = _history_rows(page)
    assert any(r.endswith("admin @challenger set to version 1 shadow traffic") for r in rows), rows
    assert any("admin Version 1 moved from None to Staging shadow traffic" in r for r in rows), rows
