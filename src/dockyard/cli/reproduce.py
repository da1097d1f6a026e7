"""``dockyard runs reproduce``: re-run a run's script at its recorded commit and compare the metrics."""

from __future__ import annotations

import click

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, build_client, tracking_uri_option
from dockyard.core.config import subprocess_environment
from dockyard.tracking.reproduce import ENV_MANAGERS, PARAMS_AS, Result, preview, reproduce


@click.command("reproduce", context_settings=CONTEXT_SETTINGS)
@click.argument("run_id", metavar="RUN_ID")
@click.option(
    "--env-manager",
    type=click.Choice(ENV_MANAGERS),
    default="local",
    show_default=True,
    help="local: this Python environment; virtualenv: a fresh one with the run's recorded packages.",
)
@click.option(
    "--params-as",
    type=click.Choice(PARAMS_AS),
    default="args",
    show_default=True,
    help="args: the original command-line arguments; options: each recorded param as --KEY VALUE.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the run and print what would be checked out, applied, installed and run; run nothing.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the comparison as JSON (the script's output goes to stderr)."
)
@tracking_uri_option
def reproduce_run(
    run_id: str, env_manager: str, params_as: str, dry_run: bool, as_json: bool, tracking_uri: str | None
) -> None:
    """Re-run RUN_ID's script at its recorded git commit and print the metric differences.

    The commit is checked out in a temporary git worktree with the run's uncommitted changes applied (each
    recorded file checked against its recorded digest), and the script runs from the run's working
    directory, logging into a new run tagged dockyard.reproduced_from=RUN_ID. The plan is printed first.
    """
    client = build_client(tracking_uri)
    if dry_run:
        prepared = preview(client, run_id, env_manager=env_manager, params_as=params_as)
        if as_json:
            output.echo_json(prepared.to_dict())
            return
        for line in prepared.describe():
            click.echo(line)
        for warning in prepared.warnings:
            click.echo(f"Warning: {warning}")
        click.echo("Dry run: nothing was checked out, installed or run.")
        return
    # The script inherits this environment (minus a run id meant for this process), as a shell would.
    env = subprocess_environment(without=("DOCKYARD_RUN_ID",))
    result = reproduce(
        client,
        run_id,
        env=env,
        env_manager=env_manager,
        params_as=params_as,
        echo=lambda line: click.echo(line, err=True),
    )
    if as_json:
        output.echo_json(_to_dict(result))
        return
    out = output.console()
    output.heading(out, f"Run {result.run_id} reproduces run {result.original_run_id} (commit {result.commit[:12]})")
    if not result.metrics:
        output.emit(out, "(no metrics)")
        return
    tbl = output.table(out, "Metric", "Original", "Reproduced", "Difference", "Relative")
    for m in result.metrics:
        relative = m.relative_difference
        tbl.add_row(
            output.cell(m.key),
            output.cell(m.original),
            output.cell(m.reproduced),
            output.cell(m.difference),
            output.cell(None if relative is None else f"{relative:+.2%}"),
        )
    output.emit(out, tbl)


def _to_dict(result: Result) -> dict[str, object]:
    return {
        "original_run_id": result.original_run_id,
        "run_id": result.run_id,
        "commit": result.commit,
        "returncode": result.returncode,
        "metrics": [
            {
                "key": m.key,
                "original": m.original,
                "reproduced": m.reproduced,
                "difference": m.difference,
                "relative_difference": m.relative_difference,
            }
            for m in result.metrics
        ],
    }
