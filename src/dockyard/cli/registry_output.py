"""What the ``dockyard models`` commands share: opening the registry, and rendering its entities.

JSON output uses the registry's wire shapes (MLflow's ``registered_model`` / ``model_version``, and
Dockyard's events, lineage and webhook deliveries), so a script reads the same JSON from the CLI as
from the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli import output
from dockyard.cli.common import build_client, build_settings

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.lifecycle.client import Client
    from dockyard.registry.entities import ModelVersion, RegistryEvent
    from dockyard.registry.protocol import RegistryAPI

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
reason_option = click.option("--reason", metavar="TEXT", help="Why: recorded in the audit history.")


def build_registry(tracking_uri: str | None) -> RegistryAPI:
    """The registry the settings name (``DOCKYARD_REGISTRY_URI``, else the tracking store)."""
    from dockyard.registry.backends import open_registry

    return open_registry(build_settings(tracking_uri))


def registry_and_client(tracking_uri: str | None) -> tuple[RegistryAPI, Client]:
    return build_registry(tracking_uri), build_client(tracking_uri)


def versions_table(out: Console, versions: Iterable[ModelVersion]) -> Any:
    tbl = output.table(out, "Version", "Stage", "Aliases", "Status", "Created", "Run ID", "Source", keep=("Version",))
    for mv in versions:
        tbl.add_row(
            output.cell(mv.version),
            output.cell(mv.current_stage.value),
            output.cell(", ".join(mv.aliases)),
            output.cell(mv.status.value),
            output.cell(output.format_time(mv.creation_timestamp)),
            output.cell(mv.run_id),
            output.cell(mv.source),
        )
    return tbl


def _change(e: RegistryEvent) -> str:
    if e.kind.value == "stage_transition":
        before = e.from_stage.value if e.from_stage else "?"
        return f"version {e.to_version}: {before} -> {e.stage.value if e.stage else '?'}"
    target = "(removed)" if e.to_version is None else f"version {e.to_version}"
    source = "(unset)" if e.from_version is None else f"version {e.from_version}"
    rollback = f" (rollback of #{e.undoes_event_id})" if e.undoes_event_id is not None else ""
    return f"{e.alias}: {source} -> {target}{rollback}"


def events_table(out: Console, events: Iterable[RegistryEvent]) -> Any:
    tbl = output.table(out, "#", "When", "Who", "What", "Change", "Reason", keep=("#",), min_widths={"Change": 12})
    for e in events:
        tbl.add_row(
            output.cell(e.event_id),
            output.cell(output.format_time(e.timestamp)),
            output.cell(e.user_id),
            output.cell(e.kind.value),
            output.cell(_change(e)),
            output.cell(e.reason),
        )
    return tbl


def echo_version(mv: ModelVersion, as_json: bool, message: str) -> None:
    from dockyard.registry import wire

    if as_json:
        output.echo_json({"model_version": wire.encode_model_version(mv)})
    else:
        click.echo(message)


def quote_filter_value(value: str) -> str:
    """A string literal for a search filter: single quotes, quotes and backslashes inside doubled/escaped.

    >>> quote_filter_value("it's")
    "'it''s'"
    """
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
