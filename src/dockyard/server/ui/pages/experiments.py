"""``/``: the experiments (search by name, create, rename, delete), and ``/experiments/<id>``: its runs.

The runs table asks ``tracking.search_runs`` (what ``/mlflow/runs/search`` calls) for one page, and
``tracking.experiment_keys`` for the keys its column picker offers (those of the experiment's latest
``KEYS_SCAN_RUNS`` runs, plus the page's and the chosen columns'): the
filter is the search grammar, the sort one column, the page size 25 to 200; columns, filter, sort and
page live in the URL, so a view can be bookmarked and shared. An invalid filter is shown under the box
with a caret at the position the parser names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import InvalidFilter, InvalidParameter
from dockyard.core.paging import encode_token, offset_from_token
from dockyard.server.ui.page import UIRequest
from dockyard.tracking.entities import KEYS_SCAN_RUNS, SYSTEM_METRIC_PREFIX, Run, ViewType
from dockyard.tracking.entities import PARENT_RUN_TAG as PARENT_TAG

if TYPE_CHECKING:
    from starlette.responses import Response

EXPERIMENTS_PAGE = 50
RUNS_PAGE_SIZES = (25, 50, 100, 200)
RUNS_PAGE_DEFAULT = 50
DEFAULT_METRIC_COLUMNS = 4  # metrics shown when the URL names no columns
DEFAULT_PARAM_COLUMNS = 4

# Attribute columns: id -> (heading, the key order_by takes)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "run_name": ("Run", "run_name"),
    "status": ("Status", "status"),
    "user_id": ("User", "user_id"),
    "start_time": ("Started", "start_time"),
    "duration": ("Duration", "end_time"),
    "run_id": ("Run id", "run_id"),
}
DEFAULT_ATTRIBUTES = ("status", "user_id", "start_time", "duration")


# ---------------------------------------------------------------------- the experiments list


def experiments(ui: UIRequest) -> Response:
    """Every experiment the caller may read, newest first, filtered by a name search."""
    query = ui.query("q").strip()
    token = ui.query("page") or None
    filter_string = None
    if query:
        escaped = query.replace("'", "''")
        filter_string = f"name ILIKE '%{escaped}%'"
    page = ui.tracking.search_experiments(
        view_type=ViewType.ACTIVE_ONLY,
        max_results=EXPERIMENTS_PAGE,
        filter_string=filter_string,
        order_by=["last_update_time DESC"],
        page_token=token,
    )
    readable = ui.readable("experiment")
    shown = [e for e in page.items if readable(e.experiment_id)]
    stats = {s.experiment_id: s for s in ui.tracking.experiment_run_stats([e.experiment_id for e in shown])}
    rows = [
        {
            "experiment": e,
            "runs": stats[e.experiment_id].run_count,
            "last_run": stats[e.experiment_id].last_run_start_time,
            "can_update": ui.can("experiment", e.experiment_id, "update"),
            "can_delete": ui.can("experiment", e.experiment_id, "delete"),
        }
        for e in shown
    ]
    return ui.render(
        "experiments/list.html",
        partial="experiments/_list_table.html",
        rows=rows,
        q=query,
        next_page=page.next_page_token or None,
        can_create=ui.user is not None or not ui.auth_on,
    )


def create_experiment(ui: UIRequest) -> Response:
    name = ui.form.get("name", "").strip()
    if not name:
        raise InvalidParameter("name: enter a name for the new experiment")
    experiment_id = ui.tracking.create_experiment(name)
    if ui.ctx.auth is not None and ui.user is not None:
        ui.ctx.auth.grant_creator(ui.user, "experiment", experiment_id)  # as the API's create does
    return ui.redirect(f"/experiments/{experiment_id}", flash=f"Created experiment {name!r}.")


def rename_experiment(ui: UIRequest) -> Response:
    experiment_id = str(ui.path_params["experiment_id"])
    ui.require("experiment", experiment_id, "update")
    new_name = ui.form.get("new_name", "").strip()
    if not new_name:
        raise InvalidParameter("new_name: enter the experiment's new name")
    ui.tracking.rename_experiment(experiment_id, new_name)
    return ui.redirect(ui.form.get("next") or "/", flash=f"Renamed experiment {experiment_id} to {new_name!r}.")


def delete_experiment(ui: UIRequest) -> Response:
    experiment_id = str(ui.path_params["experiment_id"])
    ui.require("experiment", experiment_id, "delete")
    name = ui.tracking.get_experiment(experiment_id).name
    ui.tracking.delete_experiment(experiment_id)
    return ui.redirect("/", flash=f"Deleted experiment {name!r} (an admin can restore it with the API).")


# ---------------------------------------------------------------------- the runs table


@dataclass(frozen=True)
class Column:
    """A runs-table column: ``kind`` attr, param, metric or tag; ``id`` is how the URL names it."""

    kind: str
    key: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def heading(self) -> str:
        return ATTRIBUTES[self.key][0] if self.kind == "attr" else self.key

    @property
    def order_key(self) -> str:
        """The ``order_by`` clause's identifier for this column."""
        if self.kind == "attr":
            return f"attributes.{ATTRIBUTES[self.key][1]}"
        entity = {"param": "params", "metric": "metrics", "tag": "tags"}[self.kind]
        return f"{entity}.`{self.key}`"

    @property
    def numeric(self) -> bool:
        return self.kind == "metric" or self.key in ("start_time", "duration")

    def value(self, run: Run) -> Any:
        if self.kind == "attr":
            info = run.info
            if self.key == "duration":
                return None if info.start_time is None or info.end_time is None else info.end_time - info.start_time
            return getattr(info, self.key)
        sources: dict[str, dict[str, Any]] = {
            "param": run.data.params,
            "metric": run.data.metrics,
            "tag": run.data.tags,
        }
        return sources[self.kind].get(self.key)


def parse_column(text: str) -> Column:
    kind, sep, key = text.partition(":")
    if not sep or kind not in ("attr", "param", "metric", "tag") or not key or len(key) > 250:
        raise InvalidParameter(f"cols: {text!r} is not a column (attr:NAME, param:KEY, metric:KEY or tag:KEY)")
    if kind == "attr" and key not in ATTRIBUTES:
        raise InvalidParameter(f"cols: {key!r} is not a run attribute (one of {', '.join(ATTRIBUTES)})")
    return Column(kind, key)


def _page_size(ui: UIRequest) -> int:
    text = ui.query("size", str(RUNS_PAGE_DEFAULT))
    if not text.isdigit() or int(text) not in RUNS_PAGE_SIZES:
        raise InvalidParameter(f"size: {text!r} is not one of {', '.join(map(str, RUNS_PAGE_SIZES))}")
    return int(text)


def _grouped(runs: list[Run]) -> list[tuple[Run, int]]:
    """The page's runs with each child right under its parent (when the parent is on the page): (run, depth)."""
    on_page = {r.info.run_id for r in runs}
    children: dict[str, list[Run]] = {}
    top: list[Run] = []
    for run in runs:
        parent = run.data.tags.get(PARENT_TAG)
        if parent and parent in on_page and parent != run.info.run_id:
            children.setdefault(parent, []).append(run)
        else:
            top.append(run)
    out: list[tuple[Run, int]] = []
    seen: set[str] = set()

    def add(run: Run, depth: int) -> None:
        if run.info.run_id in seen:  # a cycle of parent tags: show each run once
            return
        seen.add(run.info.run_id)
        out.append((run, depth))
        for child in children.get(run.info.run_id, []):
            add(child, min(depth + 1, 4))

    for run in top:
        add(run, 0)
    for run in runs:  # runs whose parent chain loops never reach the top level
        add(run, 0)
    return out


def runs_table(ui: UIRequest) -> Response:
    """``/experiments/<id>``: one page of the experiment's runs, as the URL asks."""
    experiment_id = str(ui.path_params["experiment_id"])
    ui.require("experiment", experiment_id, "read")
    experiment = ui.tracking.get_experiment(experiment_id)
    filter_string = ui.query("filter").strip()
    sort = parse_column(ui.query("sort")) if ui.query("sort") else None
    descending = ui.query("dir", "desc") != "asc"
    size = _page_size(ui)
    token = ui.query("page") or None
    requested = [parse_column(c) for c in ui.query_list("cols")]
    view = ui.query("view", "active")
    view_type = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}.get(view)
    if view_type is None:
        raise InvalidParameter(f"view: {view!r} is not one of active, deleted, all")

    filter_error: InvalidFilter | None = None
    runs: list[Run] = []
    next_page = None
    try:
        page = ui.tracking.search_runs(
            [experiment_id],
            filter_string=filter_string or None,
            run_view_type=view_type,
            max_results=size,
            order_by=[f"{sort.order_key} {'DESC' if descending else 'ASC'}"] if sort else None,
            page_token=token,
        )
        runs, next_page = list(page.items), page.next_page_token or None
    except InvalidFilter as exc:
        filter_error = exc

    # The picker offers the experiment's keys (bounded: see ExperimentKeys) and this page's.
    keys = ui.tracking.experiment_keys([experiment_id])
    available = {
        "param": sorted({*keys.params, *(k for r in runs for k in r.data.params)}),
        "metric": sorted({*keys.metrics, *(k for r in runs for k in r.data.metrics)}),
        "tag": sorted(k for k in {*keys.tags, *(k for r in runs for k in r.data.tags)} if not k.startswith("mlflow.")),
    }
    if requested:
        columns = requested
    else:
        columns = [Column("attr", a) for a in DEFAULT_ATTRIBUTES]
        model_metrics = [k for k in available["metric"] if not k.startswith(SYSTEM_METRIC_PREFIX)]
        columns += [Column("metric", k) for k in model_metrics[:DEFAULT_METRIC_COLUMNS]]
        columns += [Column("param", k) for k in available["param"][:DEFAULT_PARAM_COLUMNS]]
    for column in requested:  # a chosen column stays pickable though this page's runs lack it
        if column.kind != "attr" and column.key not in available[column.kind]:
            available[column.kind] = sorted([*available[column.kind], column.key])
    state = {
        "filter": filter_string or None,
        "cols": ",".join(c.id for c in requested) or None,
        "sort": sort.id if sort else None,
        "dir": None if sort is None else ("desc" if descending else "asc"),
        "size": None if size == RUNS_PAGE_DEFAULT else size,
        "view": None if view == "active" else view,
    }
    # Searches page by offset (core/paging.py), so the page before this one is known; "" is the first.
    offset = offset_from_token(token) if token else 0
    previous_page = None if offset == 0 else (encode_token({"offset": offset - size}) if offset > size else "")
    return ui.render(
        "experiments/runs.html",
        partial="experiments/_runs_table.html",
        experiment=experiment,
        rows=_grouped(runs),
        columns=columns,
        chosen={c.id for c in columns},
        attributes=ATTRIBUTES,
        available=available,
        keys_truncated=keys.truncated,
        keys_scan_runs=KEYS_SCAN_RUNS,
        filter_string=filter_string,
        filter_error=filter_error,
        sort=sort,
        descending=descending,
        size=size,
        sizes=RUNS_PAGE_SIZES,
        view=view,
        state=state,
        base=f"/experiments/{experiment_id}",
        next_page=next_page,
        previous_page=previous_page,
        first_page=token is not None,
        first_row=offset + 1,
        last_row=offset + len(runs),
        can_update=ui.can("experiment", experiment_id, "update"),
        can_delete=ui.can("experiment", experiment_id, "delete"),
    )


ROUTES = [
    ("GET", "/", experiments),
    ("POST", "/experiments/create", create_experiment),
    ("POST", "/experiments/{experiment_id}/rename", rename_experiment),
    ("POST", "/experiments/{experiment_id}/delete", delete_experiment),
    ("GET", "/experiments/{experiment_id}", runs_table),
]
