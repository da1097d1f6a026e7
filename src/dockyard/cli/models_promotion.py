"""``dockyard models promote|rollback|lineage|diff``: moving aliases and stages, and looking at where
versions came from and how two of them differ."""

from __future__ import annotations

from pathlib import Path
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
@click.option(
    "--validate",
    "run_validate",
    is_flag=True,
    help="Validate VERSION first (the gate's rules and any --rule, on --data) and promote only if it passes.",
)
@click.option("--data", type=click.Path(path_type=Path), metavar="FILE", help="With --validate: the labelled data.")
@click.option("--target", metavar="COLUMN", help="With --validate: the column holding the labels.")
@click.option("--rule", "rules", multiple=True, metavar="RULE", help="With --validate: another rule (repeatable).")
@click.option(
    "--force", is_flag=True, help="Promote past a failing gate (needs --reason; audited; MANAGE on a server)."
)
@reason_option
@json_option
@tracking_uri_option
def promote(
    name: str,
    version: str,
    alias_name: str | None,
    stage: str | None,
    archive_existing: bool,
    run_validate: bool,
    data: Path | None,
    target: str | None,
    rules: tuple[str, ...],
    force: bool,
    reason: str | None,
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """Move an alias (and optionally the stage) to VERSION, which must be READY; one recorded change.

    A gate on the alias or stage refuses a version without a passing validation; --validate runs it first."""
    if alias_name is None and stage is None:
        raise click.UsageError("give --alias, --stage or both")
    if force and not reason:
        raise click.UsageError("--force needs --reason (it is written to the audit history)")
    if run_validate:
        _validate_first(name, version, alias_name, stage, data, target, rules, tracking_uri, force=force)
    promoted = build_registry(tracking_uri).promote(
        name, version, alias=alias_name, stage=stage, reason=reason, archive_existing=archive_existing, force=force
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


def _validate_first(
    name: str,
    version: str,
    alias_name: str | None,
    stage: str | None,
    data: Path | None,
    target: str | None,
    rules: tuple[str, ...],
    tracking_uri: str | None,
    *,
    force: bool,
) -> None:
    """``promote --validate``: run the validation the gate asks for; a failure stops here (exit 1)."""
    from dockyard.cli.validate import print_result, run_validation
    from dockyard.delivery.validation import LATENCY_ROWS

    if data is None or target is None:
        raise click.UsageError("--validate needs --data and --target")
    targets = {g.target for g in build_registry(tracking_uri).get_gates(name)}
    gate = next((t for t in (alias_name, stage.capitalize() if stage else None) if t and t in targets), None)
    if gate is None and not rules:
        raise click.UsageError(f"model {name} has no gate on {alias_name or stage}: give --rule to validate against")
    result = run_validation(
        f"models:/{name}/{version}",
        data=data,
        target=target,
        rules=rules,
        baseline=None,
        task=None,
        gate=gate,
        output_dir=None,
        record=True,
        latency_rows=LATENCY_ROWS,
        allow_pickle=False,
        tracking_uri=tracking_uri,
    )
    print_result(result)
    if not result.passed and not force:
        click.echo(f"Not promoted: version {version} failed {'; '.join(r.rule for r in result.failed)}.", err=True)
        click.get_current_context().exit(1)


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
