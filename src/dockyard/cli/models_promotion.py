"""``dockyard models promote|rollback|lineage|diff``: moving aliases and stages, and looking at where
versions came from and how two of them differ."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, tracking_uri_option
from dockyard.cli.registry_output import build_registry, echo_version, json_option, reason_option, registry_and_client

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.lifecycle.diff import VersionDiff
    from dockyard.registry.lineage import Lineage, RunLineage

STAGES = click.Choice(["None", "Staging", "Production", "Archived"], case_sensitive=False)


@click.command("promote", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.argument("version")
@click.option("--alias", "alias_name", metavar="ALIAS", help="Point this alias at VERSION (e.g. champion).")
@click.option("--stage", type=STAGES, help="Also move VERSION to this stage.")
@click.option("--archive-existing", is_flag=True, help="Archive the versions already in --stage.")
@reason_option
@json_option
@tracking_uri_option
def promote(
    name: str,
    version: str,
    alias_name: str | None,
    stage: str | None,
    archive_existing: bool,
    reason: str | None,
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """Move an alias (and optionally the stage) to VERSION, which must be READY; one recorded change."""
    if alias_name is None and stage is None:
        raise click.UsageError("give --alias, --stage or both")
    promoted = build_registry(tracking_uri).promote(
        name, version, alias=alias_name, stage=stage, reason=reason, archive_existing=archive_existing
    )
    what = " and ".join(
        part
        for part in (
            f"alias {alias_name!r}" if alias_name else "",
            f"stage {promoted.current_stage.value}" if stage else "",
        )
        if part
    )
    echo_version(promoted, as_json, f"Promoted {name} version {promoted.version}: {what}.")


@click.command("rollback", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--alias", "alias_name", metavar="ALIAS", required=True, help="The alias to move back (e.g. champion).")
@reason_option
@json_option
@tracking_uri_option
def rollback(name: str, alias_name: str, reason: str | None, as_json: bool, tracking_uri: str | None) -> None:
    """Move ALIAS back to the version that held it before its last move (again: one step further back)."""
    restored = build_registry(tracking_uri).rollback(name, alias_name, reason=reason)
    echo_version(restored, as_json, f"Rolled back {alias_name!r} of {name} to version {restored.version}.")


def _run_rows(run: RunLineage) -> list[tuple[str, Any]]:
    if not run.found:
        return [("run", f"{run.run_id} (not found)")]
    rows: list[tuple[str, Any]] = [
        ("run", f"{run.run_id} ({run.run_name})" if run.run_name else run.run_id),
        ("experiment", run.experiment_id),
        ("status", run.status),
        ("started", output.format_time(run.start_time)),
        *((f"git {k}", x) for k, x in run.git.items()),
        *((f"param {k}", x) for k, x in sorted(run.params.items())),
        *((f"metric {k}", x) for k, x in sorted(run.metrics.items())),
    ]
    for d in run.datasets:
        context = f" [{d.context}]" if d.context else ""
        rows.append((f"dataset {d.name}{context}", f"digest {d.digest}  {d.source}".rstrip()))
    return rows


def _lineage_rows(found: Lineage) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("version", f"{found.name} {found.version}"),
        ("status", found.status),
        ("stage", found.stage),
        ("aliases", ", ".join(found.aliases)),
        ("source", found.source),
        ("files", found.storage_location),
    ]
    logged = found.logged_model
    if logged is not None:
        rows.append(("logged model", logged.model_id if logged.found else f"{logged.model_id} (not found)"))
        rows += [(f"model param {k}", x) for k, x in sorted(logged.params.items())]
        rows += [(f"model metric {k}", x) for k, x in sorted(logged.metrics.items())]
    if found.run is not None:
        rows += _run_rows(found.run)
    for depth, parent in enumerate(found.parents, start=1):
        name = f" ({parent.run_name})" if parent.run_name else ""
        rows.append((f"parent {depth}", f"{parent.run_id}{name}" if parent.found else f"{parent.run_id} (not found)"))
    return rows


@click.command("lineage", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.argument("version")
@json_option
@tracking_uri_option
def lineage(name: str, version: str, as_json: bool, tracking_uri: str | None) -> None:
    """Where VERSION came from: logged model, run, params, metrics, datasets, git commit, parent runs."""
    from dockyard.registry.lineage import build_lineage, encode_lineage

    registry, client = registry_and_client(tracking_uri)
    found = build_lineage(registry, client, name, version)
    if as_json:
        output.echo_json({"lineage": encode_lineage(found)})
        return
    out = output.console()
    output.emit(out, output.key_value_table(out, _lineage_rows(found), headers=("Item", "Value")))


def _diff_table(out: Console, result: VersionDiff, changed_only: bool) -> Any:
    left, right = f"v{result.left}", f"v{result.right}"
    tbl = output.table(out, "", "Section", "Key", left, right, keep=("",))
    for row in result.rows:
        if changed_only and not row.differs:
            continue
        style = "bold yellow" if row.differs and out.is_terminal else ""
        cells = [output.cell(row.section), output.cell(row.key), output.cell(row.left), output.cell(row.right)]
        if style:
            for cell in cells:
                cell.stylize(style)
        tbl.add_row(Text("*" if row.differs else ""), *cells)
    return tbl


@click.command("diff", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.argument("v1", metavar="V1")
@click.argument("v2", metavar="V2")
@click.option("--changed-only", is_flag=True, help="Show only the rows that differ.")
@json_option
@tracking_uri_option
def diff(name: str, v1: str, v2: str, changed_only: bool, as_json: bool, tracking_uri: str | None) -> None:
    """Compare two versions: params, metrics, signature, requirements, datasets and git commit.

    Rows that differ are marked '*' (and highlighted on a terminal)."""
    from dockyard.lifecycle.diff import diff_versions
    from dockyard.lifecycle.resolution import ModelResolver, registry_lookup

    registry, client = registry_and_client(tracking_uri)
    resolver = ModelResolver(client, registry_lookup(registry))
    result = diff_versions(registry, client, name, v1, v2, fetch=resolver.fetch)
    if as_json:
        output.echo_json(result.to_dict())
        return
    out = output.console()
    output.emit(out, _diff_table(out, result, changed_only))
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    count = len(result.differences)
    click.echo(f"{count} difference{'s' if count != 1 else ''} between versions {result.left} and {result.right}.")
