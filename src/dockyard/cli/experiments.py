"""``dockyard experiments``: list, create, delete, restore and rename experiments."""

from __future__ import annotations

import click

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup, build_client, collect, tracking_uri_option
from dockyard.tracking.entities import ViewType

VIEWS: dict[str, ViewType] = {
    "active": ViewType.ACTIVE_ONLY,
    "deleted": ViewType.DELETED_ONLY,
    "all": ViewType.ALL,
}

view_option = click.option(
    "--view",
    type=click.Choice(list(VIEWS), case_sensitive=False),
    default="active",
    show_default=True,
    help="Which lifecycle stages to list.",
)


def parse_tags(values: tuple[str, ...], param_hint: str = "--tag") -> dict[str, str]:
    """``("a=1", "b=x=y")`` as ``{"a": "1", "b": "x=y"}``; a value without ``=`` is a usage error."""
    tags: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=param_hint)
        tags[key.strip()] = value
    return tags


@click.group("experiments", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def experiments() -> None:
    """List, create, delete, restore and rename experiments."""


@experiments.command("list", context_settings=CONTEXT_SETTINGS)
@view_option
@click.option("--filter", "filter_string", metavar="TEXT", help="Search filter, e.g. \"name LIKE 'fraud%'\".")
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    metavar="N",
    default=1000,
    show_default=True,
    help="List at most this many experiments.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@tracking_uri_option
def list_experiments(
    view: str, filter_string: str | None, max_results: int, as_json: bool, tracking_uri: str | None
) -> None:
    """List experiments (newest first)."""
    from dockyard.tracking.validation import MAX_SEARCH_EXPERIMENTS

    client = build_client(tracking_uri)
    view_type = VIEWS[view.lower()]
    found, more = collect(
        lambda size, token: client.search_experiments(view_type, size, filter_string, None, token),
        max_results,
        MAX_SEARCH_EXPERIMENTS,
    )
    if as_json:
        output.echo_json({"experiments": [output.experiment_to_dict(e) for e in found]})
        return
    out = output.console()
    if not found:
        click.echo("No experiments found.")
        return
    show_stage = view_type is not ViewType.ACTIVE_ONLY
    columns = ["ID", "Name", *(["Stage"] if show_stage else []), "Created", "Artifact location"]
    tbl = output.table(out, *columns, keep=("ID", "Stage"), min_widths={"Name": 8, "Created": 10})
    for exp in found:
        stage = [output.cell(exp.lifecycle_stage.value)] if show_stage else []
        tbl.add_row(
            output.cell(exp.experiment_id),
            output.cell(exp.name),
            *stage,
            output.cell(output.format_time(exp.creation_time)),
            output.cell(exp.artifact_location),
        )
    output.emit(out, tbl)
    if more:
        click.echo(f"Showing the first {len(found)} experiments; use --max-results to see more.", err=True)


@experiments.command("create", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--artifact-location", metavar="URI", help="Where the experiment's artifacts go [default: the store's].")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="An experiment tag (repeatable).")
@tracking_uri_option
def create_experiment(
    name: str, artifact_location: str | None, tags: tuple[str, ...], tracking_uri: str | None
) -> None:
    """Create an experiment called NAME and print its id."""
    parsed = parse_tags(tags)
    client = build_client(tracking_uri)
    click.echo(client.create_experiment(name, artifact_location, parsed or None))


@experiments.command("delete", context_settings=CONTEXT_SETTINGS)
@click.argument("experiment_id", metavar="EXPERIMENT_ID")
@tracking_uri_option
def delete_experiment(experiment_id: str, tracking_uri: str | None) -> None:
    """Mark an experiment deleted (restore it with `experiments restore`)."""
    build_client(tracking_uri).delete_experiment(experiment_id)
    click.echo(f"Deleted experiment {experiment_id}.")


@experiments.command("restore", context_settings=CONTEXT_SETTINGS)
@click.argument("experiment_id", metavar="EXPERIMENT_ID")
@tracking_uri_option
def restore_experiment(experiment_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted experiment."""
    build_client(tracking_uri).restore_experiment(experiment_id)
    click.echo(f"Restored experiment {experiment_id}.")


@experiments.command("rename", context_settings=CONTEXT_SETTINGS)
@click.argument("experiment_id", metavar="EXPERIMENT_ID")
@click.argument("new_name", metavar="NEW_NAME")
@tracking_uri_option
def rename_experiment(experiment_id: str, new_name: str, tracking_uri: str | None) -> None:
    """Give an experiment a new name."""
    build_client(tracking_uri).rename_experiment(experiment_id, new_name)
    click.echo(f"Renamed experiment {experiment_id} to {new_name!r}.")
