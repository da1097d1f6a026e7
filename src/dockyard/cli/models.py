"""``dockyard models``: the model registry from the command line.

``list``, ``show``, ``versions``, ``register``, ``alias``, ``delete`` and ``history`` are here;
``promote``, ``rollback``, ``lineage`` and ``diff`` in :mod:`dockyard.cli.models_promotion`, the
``webhooks`` group in :mod:`dockyard.cli.webhooks` and the ``gate`` group in :mod:`dockyard.cli.gates`.
The registry is the one ``DOCKYARD_REGISTRY_URI`` names, else the tracking store (``--tracking-uri``).
"""

from __future__ import annotations

import click

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup, build_client, collect, tracking_uri_option
from dockyard.cli.experiments import parse_tags
from dockyard.cli.gates import gate
from dockyard.cli.models_promotion import diff, lineage, promote, rollback
from dockyard.cli.registry_output import (
    build_registry,
    events_table,
    json_option,
    quote_filter_value,
    reason_option,
    versions_table,
)
from dockyard.cli.webhooks import webhooks

max_results_option = click.option(
    "--max-results",
    type=click.IntRange(min=1),
    metavar="N",
    default=100,
    show_default=True,
    help="Show at most this many.",
)


@click.group("models", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def models() -> None:
    """Registered models: versions, aliases, promotion and rollback, gates, lineage, diffs, webhooks."""


@models.command("list", context_settings=CONTEXT_SETTINGS)
@click.option("--filter", "filter_string", metavar="TEXT", help="Search filter, e.g. \"name LIKE 'churn%'\".")
@max_results_option
@json_option
@tracking_uri_option
def list_models(filter_string: str | None, max_results: int, as_json: bool, tracking_uri: str | None) -> None:
    """List registered models with their aliases and latest version."""
    from dockyard.registry import wire
    from dockyard.registry.validation import MAX_SEARCH_MODELS

    registry = build_registry(tracking_uri)
    found, more = collect(
        lambda size, token: registry.search_registered_models(filter_string, size, ["name ASC"], token),
        max_results,
        MAX_SEARCH_MODELS,
    )
    if as_json:
        output.echo_json({"registered_models": [wire.encode_registered_model(m) for m in found]})
        return
    if not found:
        click.echo("No registered models found.")
        return
    out = output.console()
    tbl = output.table(out, "Name", "Latest", "Aliases", "Updated", "Description", keep=("Latest",))
    for m in found:
        latest = max((v.version for v in m.latest_versions), default=None)
        aliases = ", ".join(f"{a}={v}" for a, v in sorted(m.aliases.items()))
        tbl.add_row(
            output.cell(m.name),
            output.cell(latest),
            output.cell(aliases),
            output.cell(output.format_time(m.last_updated_timestamp)),
            output.cell(m.description),
        )
    output.emit(out, tbl)
    if more:
        click.echo(f"Showing the first {len(found)} models; use --max-results to see more.", err=True)


@models.command("show", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@json_option
@tracking_uri_option
def show_model(name: str, as_json: bool, tracking_uri: str | None) -> None:
    """Show a registered model: description, tags, aliases and the latest version of each stage."""
    from dockyard.registry import wire

    model = build_registry(tracking_uri).get_registered_model(name)
    if as_json:
        output.echo_json({"registered_model": wire.encode_registered_model(model)})
        return
    out = output.console()
    output.heading(out, f"Registered model {model.name}")
    rows = [
        ("Created", output.format_time(model.creation_timestamp)),
        ("Updated", output.format_time(model.last_updated_timestamp)),
        ("Description", model.description),
        *((f"alias {a}", f"version {v}") for a, v in sorted(model.aliases.items())),
        *((f"tag {k}", v) for k, v in sorted(model.tags.items())),
    ]
    output.emit(out, output.key_value_table(out, rows))
    if model.latest_versions:
        output.emit(out)
        output.heading(out, "Latest versions")
        output.emit(out, versions_table(out, model.latest_versions))


@models.command("versions", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@max_results_option
@json_option
@tracking_uri_option
def list_versions(name: str, max_results: int, as_json: bool, tracking_uri: str | None) -> None:
    """List the versions of a registered model, newest first."""
    from dockyard.registry import wire
    from dockyard.registry.validation import MAX_SEARCH_VERSIONS

    registry = build_registry(tracking_uri)
    registry.get_registered_model(name)  # an unknown model is an error, not an empty list
    query = f"name = {quote_filter_value(name)}"
    found, more = collect(
        lambda size, token: registry.search_model_versions(query, size, ["version_number DESC"], token),
        max_results,
        MAX_SEARCH_VERSIONS,
    )
    if as_json:
        output.echo_json({"model_versions": [wire.encode_model_version(v) for v in found]})
        return
    if not found:
        click.echo(f"Model {name!r} has no versions.")
        return
    out = output.console()
    output.emit(out, versions_table(out, found))
    if more:
        click.echo(f"Showing the first {len(found)} versions; use --max-results to see more.", err=True)


@models.command("register", context_settings=CONTEXT_SETTINGS)
@click.argument("model_uri", metavar="MODEL_URI")
@click.argument("name")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A version tag (repeatable).")
@click.option("--description", metavar="TEXT", help="The version's description.")
@tracking_uri_option
def register(
    model_uri: str, name: str, tags: tuple[str, ...], description: str | None, tracking_uri: str | None
) -> None:
    """Register the model at MODEL_URI (runs:/..., models:/m-..., a path) as a new version of NAME."""
    from dockyard.lifecycle.model_logging import register_model

    parsed = parse_tags(tags)
    version = register_model(
        model_uri, name, tags=parsed or None, description=description, client=build_client(tracking_uri)
    )
    click.echo(f"Registered {name} version {version.version}.")


@models.command("alias", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.argument("alias")
@click.argument("version", required=False)
@click.option("--delete", "delete_alias", is_flag=True, help="Remove the alias instead of setting it.")
@reason_option
@tracking_uri_option
def alias(
    name: str, alias: str, version: str | None, delete_alias: bool, reason: str | None, tracking_uri: str | None
) -> None:
    """Point ALIAS of model NAME at VERSION (moving it if set), or remove it with --delete."""
    registry = build_registry(tracking_uri)
    if delete_alias:
        if version is not None:
            raise click.UsageError("give VERSION or --delete, not both")
        registry.delete_registered_model_alias(name, alias, reason=reason)
        click.echo(f"Removed alias {alias!r} of {name}.")
        return
    if version is None:
        raise click.UsageError("missing VERSION (or --delete to remove the alias)")
    registry.set_registered_model_alias(name, alias, version, reason=reason)
    click.echo(f"Alias {alias!r} of {name} now points to version {version}.")


@models.command("delete", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--version", metavar="VERSION", help="Delete only this version (its number is never reused).")
@click.option("--yes", is_flag=True, help="Do not ask before deleting a whole model.")
@tracking_uri_option
def delete(name: str, version: str | None, yes: bool, tracking_uri: str | None) -> None:
    """Delete a model version, or a registered model with all its versions."""
    registry = build_registry(tracking_uri)
    if version is not None:
        registry.delete_model_version(name, version)
        click.echo(f"Deleted {name} version {version}.")
        return
    registry.get_registered_model(name)
    if not yes:
        click.confirm(f"Delete registered model {name!r} and all its versions?", abort=True)
    registry.delete_registered_model(name)
    click.echo(f"Deleted registered model {name}.")


@models.command("history", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--alias", "alias_name", metavar="ALIAS", help="Only this alias's moves.")
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    metavar="N",
    default=1000,
    show_default=True,
    help="Show at most this many events (the newest).",
)
@json_option
@tracking_uri_option
def history(name: str, alias_name: str | None, max_results: int, as_json: bool, tracking_uri: str | None) -> None:
    """The audit history of a model: every alias move and stage transition, who, when and why."""
    from dockyard.registry import wire
    from dockyard.registry.validation import MAX_EVENTS_PAGE

    registry = build_registry(tracking_uri)
    newest, _more = collect(
        lambda size, token: registry.get_registry_events(name, alias_name, size, token, newest_first=True),
        max_results,
        MAX_EVENTS_PAGE,
    )
    events = list(reversed(newest))  # printed oldest first, like a log
    if as_json:
        output.echo_json({"events": [wire.encode_event(e) for e in events]})
        return
    if not events:
        click.echo("No alias moves or stage transitions recorded.")
        return
    out = output.console()
    output.emit(out, events_table(out, events))


for command in (promote, rollback, lineage, diff, webhooks, gate):
    models.add_command(command)
