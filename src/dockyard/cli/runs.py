"""``dockyard runs``: list, show, delete and restore runs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup, build_client, collect, tracking_uri_option
from dockyard.cli.experiments import VIEWS, view_option
from dockyard.core.errors import DockyardError, ExperimentNotFound
from dockyard.tracking.entities import Run, ViewType

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from dockyard.lifecycle.client import Client

METRIC_COLUMNS = 4
_ORDER_BY_METRIC = re.compile(r"^\s*metrics?\.(`[^`]+`|\"[^\"]+\"|\S+)", re.IGNORECASE)


@click.group("runs", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def runs() -> None:
    """List, show, delete and restore runs."""


def _experiment_ids(client: Client, ids: tuple[str, ...], name: str | None) -> list[str]:
    if ids and name is not None:
        raise click.UsageError("give --experiment-id or --experiment-name, not both")
    if ids:
        return list(dict.fromkeys(ids))
    if name is not None:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise ExperimentNotFound(f"Experiment {name!r} not found")
        return [exp.experiment_id]
    from dockyard.tracking.client import iterate_pages

    first = client.search_experiments(ViewType.ACTIVE_ONLY)
    every = iterate_pages(first, lambda token: client.search_experiments(ViewType.ACTIVE_ONLY, page_token=token))
    return [exp.experiment_id for exp in every]


def _metrics_in_order_by(order_by: Sequence[str]) -> list[str]:
    keys = []
    for clause in order_by:
        match = _ORDER_BY_METRIC.match(clause)
        if match:
            keys.append(match.group(1).strip('`"'))
    return keys


@runs.command("list", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--experiment-id",
    "experiment_ids",
    multiple=True,
    metavar="ID",
    help="Search this experiment (repeatable) [default: every active experiment].",
)
@click.option("--experiment-name", metavar="NAME", help="Search the experiment with this name.")
@click.option("--filter", "filter_string", metavar="TEXT", help='Search filter, e.g. "metrics.rmse < 0.5".')
@click.option(
    "--order-by",
    multiple=True,
    metavar="CLAUSE",
    help='Sort key, e.g. "metrics.rmse ASC" (repeatable) [default: newest first].',
)
@view_option
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    metavar="N",
    default=100,
    show_default=True,
    help="List at most this many runs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@tracking_uri_option
def list_runs(
    experiment_ids: tuple[str, ...],
    experiment_name: str | None,
    filter_string: str | None,
    order_by: tuple[str, ...],
    view: str,
    max_results: int,
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """List runs with their status, start time, duration and a few metrics."""
    from dockyard.tracking.validation import MAX_SEARCH_RUNS

    client = build_client(tracking_uri)
    ids = _experiment_ids(client, experiment_ids, experiment_name)
    view_type = VIEWS[view.lower()]
    found: list[Run] = []
    more = False
    if ids:
        found, more = collect(
            lambda size, token: client.search_runs(ids, filter_string, view_type, size, list(order_by), token),
            max_results,
            MAX_SEARCH_RUNS,
        )
    if as_json:
        output.echo_json({"runs": [output.run_to_dict(run) for run in found]})
        return
    if not found:
        click.echo("No runs found.")
        return
    out = output.console()
    metric_keys = output.pick_metric_columns(found, _metrics_in_order_by(order_by), METRIC_COLUMNS)
    several = len({run.info.experiment_id for run in found}) > 1
    show_stage = view_type is not ViewType.ACTIVE_ONLY
    tbl = _runs_table(out, found, metric_keys, several, show_stage)
    # On a narrow terminal, give up metric columns (rightmost first) rather than mangle the others.
    while out.is_terminal and metric_keys and output.min_width(out, tbl) > out.width:
        metric_keys = metric_keys[:-1]
        tbl = _runs_table(out, found, metric_keys, several, show_stage)
    output.emit(out, tbl)
    if more:
        click.echo(f"Showing the first {len(found)} runs; use --max-results to see more.", err=True)


def _runs_table(out: Console, found: list[Run], metric_keys: list[str], several: bool, show_stage: bool) -> Table:
    columns = [
        "Run ID",
        *(["Experiment"] if several else []),
        "Name",
        "Status",
        *(["Stage"] if show_stage else []),
        "Started",
        "Duration",
        *metric_keys,
    ]
    tbl = output.table(
        out,
        *columns,
        keep=("Run ID", "Status", "Stage", "Duration", *metric_keys),
        min_widths={"Name": 8, "Started": 10},
    )
    for run in found:
        info = run.info
        tbl.add_row(
            output.cell(info.run_id),
            *([output.cell(info.experiment_id)] if several else []),
            output.cell(info.run_name),
            output.cell(info.status.value),
            *([output.cell(info.lifecycle_stage.value)] if show_stage else []),
            output.cell(output.format_time(info.start_time)),
            output.cell(output.format_duration(info.start_time, info.end_time)),
            *(output.cell(run.data.metrics.get(key)) for key in metric_keys),
        )
    return tbl


@runs.command("show", context_settings=CONTEXT_SETTINGS)
@click.argument("run_id", metavar="RUN_ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@tracking_uri_option
def show_run(run_id: str, as_json: bool, tracking_uri: str | None) -> None:
    """Show one run: info, params, latest metrics, tags, dataset inputs and top-level artifacts."""
    client = build_client(tracking_uri)
    run = client.get_run(run_id)
    try:
        files = client.list_artifacts(run_id)
    except DockyardError as exc:  # e.g. an artifact store whose extra is not installed
        click.echo(f"Warning: cannot list artifacts: {exc.message}", err=True)
        files = []
    if as_json:
        payload: dict[str, Any] = {
            "run": output.run_to_dict(run),
            "artifacts": {"root_uri": run.info.artifact_uri, "files": [output.file_info_to_dict(f) for f in files]},
        }
        output.echo_json(payload)
        return

    out = output.console()
    info = run.info
    try:
        experiment = f"{info.experiment_id} ({client.get_experiment(info.experiment_id).name})"
    except DockyardError:
        experiment = info.experiment_id
    output.heading(out, f"Run {info.run_id}")
    output.emit(
        out,
        output.key_value_table(
            out,
            [
                ("Name", info.run_name),
                ("Experiment", experiment),
                ("Status", info.status.value),
                ("Stage", info.lifecycle_stage.value),
                ("User", info.user_id),
                ("Started", output.format_time(info.start_time)),
                ("Ended", output.format_time(info.end_time)),
                ("Duration", output.format_duration(info.start_time, info.end_time)),
                ("Artifact URI", info.artifact_uri),
            ],
            headers=("Field", "Value"),
        ),
    )
    _section(out, "Params", sorted(run.data.params.items()))
    _section(out, "Metrics", sorted(run.data.metrics.items()), headers=("Key", "Latest value"))
    _section(out, "Tags", sorted(run.data.tags.items()))

    output.emit(out)
    output.heading(out, "Dataset inputs")
    if run.inputs.dataset_inputs:
        tbl = output.table(out, "Name", "Digest", "Context", "Source type", "Source")
        for item in run.inputs.dataset_inputs:
            ds = item.dataset
            tbl.add_row(
                output.cell(ds.name),
                output.cell(ds.digest),
                output.cell(item.tags.get("mlflow.data.context")),
                output.cell(ds.source_type),
                output.cell(ds.source),
            )
        output.emit(out, tbl)
    else:
        output.emit(out, "(none)")

    output.emit(out)
    output.heading(out, "Artifacts")
    if files:
        tbl = output.table(out, "Path", "Size")
        for f in files:
            tbl.add_row(
                output.cell(f.path + "/" if f.is_dir else f.path),
                output.cell("dir" if f.is_dir else output.format_size(f.file_size)),
            )
        output.emit(out, tbl)
    else:
        output.emit(out, "(none)")


def _section(
    out: Console, title: str, rows: list[tuple[str, Any]], headers: tuple[str, str] = ("Key", "Value")
) -> None:
    output.emit(out)
    output.heading(out, title)
    if rows:
        output.emit(out, output.key_value_table(out, rows, headers=headers))
    else:
        output.emit(out, "(none)")


@runs.command("delete", context_settings=CONTEXT_SETTINGS)
@click.argument("run_id", metavar="RUN_ID")
@tracking_uri_option
def delete_run(run_id: str, tracking_uri: str | None) -> None:
    """Mark a run deleted (restore it with `runs restore`)."""
    build_client(tracking_uri).delete_run(run_id)
    click.echo(f"Deleted run {run_id}.")


@runs.command("restore", context_settings=CONTEXT_SETTINGS)
@click.argument("run_id", metavar="RUN_ID")
@tracking_uri_option
def restore_run(run_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted run."""
    build_client(tracking_uri).restore_run(run_id)
    click.echo(f"Restored run {run_id}.")
