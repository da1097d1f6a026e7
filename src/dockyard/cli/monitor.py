"""``dockyard monitor``: drift of a served model version against its training profile (see
:mod:`dockyard.delivery.monitor`). Exit codes: 0 no alarm, 1 an alarm (drift or a failed rule), 2 bad input;
so it can run from cron or CI."""

from __future__ import annotations

from pathlib import Path

import click

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, UsageErrorLine, build_client, one_line, tracking_uri_option
from dockyard.core.errors import DockyardError


@click.command("monitor", context_settings=CONTEXT_SETTINGS)
@click.argument("model_uri")
@click.option(
    "--predictions",
    type=click.Path(path_type=Path),
    required=True,
    metavar="DIR_OR_FILE",
    help="The scoring server's prediction log (dockyard serve --prediction-log DIR): a folder or one file.",
)
@click.option("--labels", type=click.Path(path_type=Path), metavar="FILE", help="True labels by request_id (and row).")
@click.option("--label-column", default="label", show_default=True, metavar="NAME", help="The labels' column.")
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="RULE",
    help="A rule on the monitoring metrics, e.g. 'live_accuracy >= 0.7'.",
)
@click.option("--psi", type=click.FloatRange(min=0), default=0.2, show_default=True, help="PSI of a drifted column.")
@click.option(
    "--alpha",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=0.001,
    show_default=True,
    help="Chance of a false alarm over all columns (Bonferroni).",
)
@click.option("--rollback-on-drift", "rollback_alias", metavar="ALIAS", help="On an alarm, roll ALIAS back (audited).")
@click.option("--no-record", is_flag=True, help="Do not log the metrics to the monitoring run.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
@tracking_uri_option
def monitor_command(
    model_uri: str,
    predictions: Path,
    labels: Path | None,
    label_column: str,
    rules: tuple[str, ...],
    psi: float,
    alpha: float,
    rollback_alias: str | None,
    no_record: bool,
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """Measure drift of MODEL_URI's served inputs and predictions against its training profile.

    Exits 1 when a column drifts or a rule fails (and, with --rollback-on-drift, rolls the alias back)."""
    from dockyard.delivery.drift import Thresholds
    from dockyard.delivery.monitor import monitor

    try:
        result = monitor(
            model_uri,
            predictions,
            labels=labels,
            label_column=label_column,
            rules=list(rules),
            thresholds=Thresholds(psi=psi, alpha=alpha),
            rollback_alias=rollback_alias,
            record=not no_record,
            client=build_client(tracking_uri),
        )
    except DockyardError as exc:
        raise UsageErrorLine(one_line(exc.message)) from None
    if as_json:
        from dockyard.delivery.report import json_safe

        output.echo_json(json_safe(result.to_dict()))
    else:
        out = output.console()
        tbl = output.table(out, "Column", "Kind", "PSI", "p-value", "Nulls", "Status", "Why", keep=("Column", "Status"))
        rows = list(result.drift.columns) + ([result.drift.predictions] if result.drift.predictions else [])
        for c in rows:
            tbl.add_row(
                output.cell(c.column),
                output.cell(c.kind),
                output.cell(None if c.psi is None else f"{c.psi:.3f}"),
                output.cell(None if c.p_value is None else f"{c.p_value:.2g}"),
                output.cell(f"{c.null_rate:.1%}"),
                output.cell("DRIFT" if c.drifted else "ok"),
                output.cell("; ".join(c.reasons)),
            )
        output.emit(out, tbl)
        for r in result.results:
            click.echo(f"{'PASS' if r.passed else 'FAIL'}  {r.rule}  (value {r.value})")
        for missing in result.drift.missing:
            click.echo(f"Column {missing} of the profile is not in the served inputs.", err=True)
        what = "ALARM" if result.alarm else "no drift"
        click.echo(f"{result.name} version {result.version}: {result.rows} rows in {result.requests} requests: {what}.")
        if result.rolled_back_to is not None:
            click.echo(f"Rolled back {rollback_alias!r} to version {result.rolled_back_to}.")
    click.get_current_context().exit(result.exit_code)
