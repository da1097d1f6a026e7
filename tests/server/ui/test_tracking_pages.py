"""The tracking pages in a real browser against a real server (auth off): experiments, the runs table
(filter, sort, columns, nested runs, paging), one run (charts, artifact previews), compare, MLflow links."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from server.dockyard_process import Server

STEPS = 60


@pytest.fixture(scope="module")
def world(ui_server: Server) -> dict[str, Any]:
    """An experiment with a parent run and four children (two models, three learning rates), metrics over
    steps with a spike, system metrics, a dataset input and artifacts of every previewable kind."""
    import dockyard
    from dockyard.tracking.entities import Dataset, Metric

    client = dockyard.Client(ui_server.url)
    experiment_id = client.create_experiment("ui-demo")
    many = client.create_experiment("other-experiment")
    for i in range(30):
        client.create_run(many, run_name=f"many-{i:02d}", start_time=1_700_000_000_000 + i)
    oldest = client.search_runs([many], filter_string="attributes.run_name = 'many-00'").items[0].info.run_id
    client.log_param(oldest, "only_on_the_oldest", "x")  # not on the first page of 25: the picker offers it still
    client.log_metric(oldest, "oldest_metric", 1.5)
    parent = client.create_run(experiment_id, run_name="sweep", start_time=1_700_000_000_000)
    children = []
    for i, (model, lr) in enumerate([("gbm", "0.1"), ("gbm", "0.01"), ("linear", "0.1"), ("linear", "0.001")]):
        run = client.create_run(
            experiment_id,
            run_name=f"trial-{i}",
            start_time=1_700_000_000_000 + (i + 1) * 1000,
            tags={"mlflow.parentRunId": parent.info.run_id, "team": "ui"},
        )
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            params=[dockyard.Param("model", model), dockyard.Param("lr", lr), dockyard.Param("depth", str(3 + i))],
            metrics=[
                Metric("loss", (1.0 / (s + 1)) + (5.0 if s == 37 else 0.0) + i * 0.01, 1_700_000_000_000 + s, s)
                for s in range(STEPS)
            ]
            + [Metric("auc", 0.7 + i * 0.05, 1_700_000_001_000, 0)]
            + [Metric("system/cpu_utilization_percentage", 10.0 + s, 1_700_000_000_000 + s, s) for s in range(5)],
        )
        client.set_terminated(run_id, end_time=1_700_000_000_000 + 90_000 + i)
        children.append(run_id)
    first = children[0]
    client.log_input(
        first, Dataset("loans", "d1g3st42", "local", "/data/loans.csv", profile='{"num_rows": 100}'), "training"
    )
    client.set_tag(first, "mlflow.source.git.commit", "0123456789abcdef0123456789abcdef01234567")
    client.set_tag(first, "dockyard.source.git.dirty", "true")
    client.set_tag(first, "dockyard.source.command", "python train.py --lr 0.1")
    client.log_text(first, "diff --git a/train.py b/train.py\n+lr = 0.1\n", "dockyard/git.diff")
    client.log_text(first, "hello from the run\n", "notes.txt")
    client.log_dict(first, {"alpha": 1, "nested": {"b": [1, 2]}}, "config.json")
    client.log_text(first, "flavors:\n  python_function:\n    loader_module: x\n", "model/MLmodel")
    client.log_text(first, "a,b\n1,2\n3,4\n", "data.csv")
    import pandas as pd
    from PIL import Image

    buffer = io.BytesIO()
    pd.DataFrame({"x": [1, 2, 3], "y": ["p", "q", "r"]}).to_parquet(buffer)
    client.log_artifact_bytes(first, "tables/frame.parquet", buffer.getvalue())
    image = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 30, 30)).save(image, format="PNG")
    client.log_artifact_bytes(first, "plot.png", image.getvalue())
    client.close()
    return {"experiment": experiment_id, "parent": parent.info.run_id, "children": children, "many": many}


def test_the_experiments_page_lists_and_searches(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto("/")
    table = page.locator("#experiments-table")
    assert "ui-demo" in table.inner_text() and "other-experiment" in table.inner_text()
    screenshot(page, "experiments")
    page.get_by_label("Search by name").fill("demo")
    page.wait_for_url("**/?q=demo")
    assert "other-experiment" not in table.inner_text()
    row = page.locator("tr", has_text="ui-demo")
    assert row.locator("td").nth(2).inner_text() == "5"  # runs


def test_the_runs_table_groups_children_under_their_parent(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['experiment']}")
    names = page.locator("#runs-table tbody td.name").all_inner_texts()
    assert names[0].strip() == "sweep"
    assert sorted(n.strip() for n in names[1:]) == ["trial-0", "trial-1", "trial-2", "trial-3"]
    assert page.locator("#runs-table tbody tr.child").count() == 4
    screenshot(page, "runs-table")
    phone = open_page(ui_server.url, phone=True)
    phone.goto(f"/experiments/{world['experiment']}")
    screenshot(phone, "runs-table-phone")


def test_a_valid_filter_narrows_the_runs_and_stays_in_the_url(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['experiment']}")
    page.get_by_label("Filter runs").fill("params.model = 'gbm' AND metrics.auc > 0.72")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**filter=*")
    assert [n.strip() for n in page.locator("#runs-table tbody td.name").all_inner_texts()] == ["trial-1"]
    page.reload()
    assert page.get_by_label("Filter runs").input_value() == "params.model = 'gbm' AND metrics.auc > 0.72"
    assert [n.strip() for n in page.locator("#runs-table tbody td.name").all_inner_texts()] == ["trial-1"]


def test_an_invalid_filter_is_shown_at_its_position(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['experiment']}")
    page.get_by_label("Filter runs").fill("metrics.loss < 'high'")
    page.get_by_role("button", name="Apply").click()
    error = page.locator(".filter-error")
    error.wait_for()
    assert "position 15" in error.inner_text()
    caret_line = error.locator("pre").inner_text().splitlines()[1]
    assert caret_line.index("^") == 15
    assert "Fix the filter" in page.locator("#runs-table").inner_text()
    screenshot(page, "runs-invalid-filter")


def test_sorting_by_a_metric_column_and_back(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['experiment']}?filter=tags.team+%3D+%27ui%27&cols=metric:auc,param:lr")
    page.get_by_role("link", name="auc (metric)").click()
    page.wait_for_url("**sort=metric%3Aauc**")
    values = page.locator("#runs-table tbody tr td:nth-child(3)").all_inner_texts()
    assert values == ["0.85", "0.8", "0.75", "0.7"]
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("auc")
    page.get_by_role("link", name="auc (metric)").click()
    page.wait_for_url("**dir=asc**")
    assert page.locator("#runs-table tbody tr td:nth-child(3)").all_inner_texts() == ["0.7", "0.75", "0.8", "0.85"]
    # A new filter keeps the sort and the columns.
    page.get_by_label("Filter runs").fill("params.model = 'gbm'")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**gbm**")
    assert "sort=metric%3Aauc" in page.url and "dir=asc" in page.url and "cols=" in page.url
    assert page.locator("#runs-table tbody tr td:nth-child(3)").all_inner_texts() == ["0.7", "0.75"]


def _offset_token(offset: int) -> str:
    from dockyard.core.paging import encode_token

    return encode_token({"offset": offset})


def test_paging_on_the_server(ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['many']}?size=25")
    names = page.locator("#runs-table tbody td.name")
    assert names.count() == 25 and names.first.inner_text().strip() == "many-29"  # newest first
    assert page.locator("#runs-range").inner_text() == "Runs 1\u201325 and more on this page"
    assert page.get_by_role("link", name="Previous page").count() == 0
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url("**page=*")
    assert [n.strip() for n in names.all_inner_texts()] == [f"many-{i:02d}" for i in range(4, -1, -1)]
    assert page.locator("#runs-range").inner_text() == "Runs 26\u201330 on this page"
    page.get_by_role("link", name="Previous page").click()
    expect(page.locator("#runs-range")).to_have_text("Runs 1\u201325 and more on this page")
    assert names.first.inner_text().strip() == "many-29"
    page.goto(f"/experiments/{world['many']}?size=25&page=" + _offset_token(27))  # a page 25 rows after another
    assert page.locator("#runs-range").inner_text() == "Runs 28\u201330 on this page"
    page.get_by_role("link", name="Previous page").click()
    expect(page.locator("#runs-range")).to_have_text("Runs 3\u201327 and more on this page")
    page.get_by_role("link", name="First page").click()
    expect(page.locator("#runs-range")).to_have_text("Runs 1\u201325 and more on this page")
    page.goto(f"/experiments/{world['many']}?size=25&page=" + _offset_token(25))
    page.get_by_label("Rows per page").select_option("50")
    page.wait_for_url("**size=50**")
    assert names.count() == 30


def test_choosing_columns(ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['experiment']}")
    page.get_by_text("Columns", exact=True).click()
    checked = page.locator(".columns-picker input:checked")
    while checked.count():
        checked.first.uncheck()
    page.locator(".columns-picker").get_by_label("depth").check()
    page.locator(".columns-picker").get_by_label("team").check()
    page.get_by_role("button", name="Show these columns").click()
    page.wait_for_url("**cols=*")
    headings = [h.strip() for h in page.locator("#runs-table thead th").all_inner_texts()]
    assert headings[1:] == ["Run", "depth (param)", "team (tag)"]


def test_the_column_picker_offers_keys_absent_from_the_page(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['many']}?size=25")
    names = page.locator("#runs-table tbody td.name")
    assert "many-00" not in [n.strip() for n in names.all_inner_texts()]
    page.get_by_text("Columns", exact=True).click()
    picker = page.locator(".columns-picker")
    picker.get_by_label("oldest_metric").check()
    picker.get_by_label("only_on_the_oldest").check()
    page.get_by_role("button", name="Show these columns").click()
    page.wait_for_url("**cols=*")
    headings = [h.strip() for h in page.locator("#runs-table thead th").all_inner_texts()]
    assert "oldest_metric (metric)" in headings and "only_on_the_oldest (param)" in headings


def test_selecting_runs_and_comparing_them(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['experiment']}")
    compare = page.locator("button[data-compare-button]")
    assert compare.is_disabled()
    for name in ("trial-0", "trial-1", "trial-2"):
        page.get_by_label(f"Select {name} to compare").check()
    assert compare.inner_text() == "Compare 3 runs"
    compare.click()
    page.wait_for_url("**/compare?runs=*")
    table = page.locator("#compare-table")
    assert table.locator("tr.differs-row", has_text="lr").count() == 1
    assert table.locator("tr.differs-row", has_text="Experiment").count() == 0
    page.locator(".chart canvas").first.wait_for()
    page.locator("#parallel canvas").wait_for()
    page.wait_for_timeout(300)  # the charts' first frame
    screenshot(page, "compare")


def test_the_run_page_shows_facts_charts_and_inputs(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/runs/{world['children'][0]}")
    text = page.locator("main").inner_text()
    for expected in (
        "trial-0",
        "FINISHED",
        "1m 29s",
        "0123456789abcdef",
        "python train.py --lr 0.1",
        "d1g3st42",
        "loans",
    ):
        assert expected in text
    from playwright.sync_api import expect

    charts = page.locator(".chart")
    assert charts.count() == 3  # auc, loss and the system metric
    expect(page.locator(".chart .u-wrap")).to_have_count(3)  # each chart fetches its own points
    page.wait_for_timeout(300)
    screenshot(page, "run")
    page.get_by_label("Horizontal axis").select_option("time")
    expect(page.locator(".chart .u-wrap")).to_have_count(3)
    phone = open_page(ui_server.url, phone=True)
    phone.goto(f"/runs/{world['children'][0]}")
    phone.locator(".chart canvas").first.wait_for()
    screenshot(phone, "run-phone")


def test_the_chart_data_keeps_the_spike(ui_server: Server, world: dict[str, Any]) -> None:
    import httpx2

    answer = httpx2.get(f"{ui_server.url}/runs/{world['children'][0]}/metric-history", params={"key": "loss"})
    points = answer.json()["points"]
    assert max(p[2] for p in points) > 5  # step 37's spike
    assert len(points) == STEPS


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("notes.txt", "hello from the run"),
        ("config.json", '"nested": {'),
        ("data.csv", "3\n4"),
    ],
)
def test_artifact_previews(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], name: str, expect: str
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/runs/{world['children'][0]}")
    page.get_by_role("link", name=name, exact=True).click()
    preview = page.locator(".preview")
    preview.locator("h3", has_text=name).wait_for()
    assert expect in preview.inner_text().replace("\t", "\n")


def test_folders_images_parquet_and_the_mlmodel(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], screenshot: Any
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/runs/{world['children'][0]}")
    page.get_by_role("link", name="plot.png", exact=True).click()
    image = page.locator(".preview img")
    image.wait_for()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) == 64
    page.get_by_role("link", name="tables/", exact=True).click()
    page.get_by_role("link", name="frame.parquet", exact=True).click()
    page.locator(".preview table").wait_for()
    assert page.locator(".preview tbody tr").count() == 3
    assert "3 rows of 3" in page.locator(".preview").inner_text()
    page.get_by_role("link", name="artifacts", exact=True).click()
    page.get_by_role("link", name="model/", exact=True).click()
    page.get_by_role("link", name="MLmodel", exact=True).click()
    page.locator(".preview pre[data-kind=yaml]").wait_for()
    assert "loader_module" in page.locator(".preview pre").inner_text()
    screenshot(page, "run-artifact-mlmodel")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "MLmodel"


def test_the_uncommitted_changes_open_from_the_source_box(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/runs/{world['children'][0]}")
    page.get_by_role("link", name="Show the uncommitted changes (git diff)").click()
    page.locator(".preview pre").wait_for()
    assert "+lr = 0.1" in page.locator(".preview pre").inner_text()


def test_an_artifact_download_never_runs_in_the_page(ui_server: Server, world: dict[str, Any]) -> None:
    import httpx2

    url = f"{ui_server.url}/runs/{world['children'][0]}/artifact"
    answer = httpx2.get(url, params={"path": "notes.txt", "inline": "1"})
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in answer.headers["content-security-policy"]
    assert httpx2.get(url, params={"path": "../../server.db"}).status_code == 400


def test_mlflow_links_land_on_the_pages(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]
) -> None:
    page = open_page(ui_server.url)
    run_id = world["children"][1]
    page.goto(f"/#/experiments/{world['experiment']}/runs/{run_id}")
    page.wait_for_url(f"**/runs/{run_id}")
    assert page.get_by_role("heading", name="trial-1").is_visible()
    page.goto(f"/#/experiments/{world['experiment']}")
    page.wait_for_url(f"**/experiments/{world['experiment']}")
    page.goto("/#/compare-runs?runs=" + json.dumps(world["children"][:2]).replace(" ", ""))
    page.wait_for_url("**/compare?runs=*")


def test_the_keyboard_reaches_the_content_and_sorts(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any]
) -> None:
    page = open_page(ui_server.url)
    page.goto(f"/experiments/{world['experiment']}?cols=metric:auc")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.get_by_label("Filter runs").focus()
    page.keyboard.type("metrics.auc > 0.8")
    page.keyboard.press("Enter")
    page.wait_for_url("**filter=*")
    assert [n.strip() for n in page.locator("#runs-table tbody td.name").all_inner_texts()] == ["trial-3"]
    page.get_by_role("link", name="auc (metric)").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=metric%3Aauc**")


def test_a_missing_run_is_a_404_page(
    ui_server: Server, world: dict[str, Any], open_page: Callable[..., Any], page_errors: Any
) -> None:
    page_errors.allow("404")
    page = open_page(ui_server.url)
    answer = page.goto("/runs/0123456789abcdef0123456789abcdef")
    assert answer.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
