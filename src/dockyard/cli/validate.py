"""``dockyard validate``: measure a model on labelled data and check rules (see :mod:`dockyard.delivery.validation`).

Exit codes: 0 every rule passed, 1 a rule failed, 2 bad input (no such file or column, empty data, a
rule that does not parse, an unknown metric, data the model's signature refuses, no such model).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, UsageErrorLine, build_client, one_line, tracking_uri_option
from dockyard.core.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.delivery.validation import ValidationResult

TASKS = click.Choice(["classifier", "regressor"], case_sensitive=False)


def rules_table(result: ValidationResult) -> Any:
    out = output.console()
    tbl = output.table(out, "Rule", "Value", "Baseline", "Outcome", "Note", keep=("Rule", "Outcome"))
    for r in result.results:
        tbl.add_row(
            output.cell(r.rule),
            output.cell(None if r.value is None else output.format_float(r.value)),
            output.cell(None if r.baseline_value is None else output.format_float(r.baseline_value)),
            output.cell("PASS" if r.passed else "FAIL"),
            output.cell(r.detail),
        )
    return tbl


def metrics_table(result: ValidationResult) -> Any:
    out = output.console()
    tbl = output.table(out, "Metric", "Candidate", "Baseline", keep=("Metric",))
    names = list(result.metrics) + [k for k in result.baseline_metrics if k not in result.metrics]
    for name in names:
        value, base = result.metrics.get(name), result.baseline_metrics.get(name)
        tbl.add_row(
            output.cell(name),
            output.cell(None if value is None else output.format_float(value)),
            output.cell(None if base is None else output.format_float(base)),
        )
    return tbl


def print_result(result: ValidationResult) -> None:
    out = output.console()
    output.emit(out, rules_table(result))
    output.emit(out, metrics_table(result))
    if result.drift is not None and result.drift.drifted:
        for column in result.drift.drifted:
            click.echo(f"Drift: {column.column}: {'; '.join(column.reasons)}", err=True)
    for rule in result.skipped:
        click.echo(f"Not checked: {rule} (nothing holds the gate's target yet: no baseline)", err=True)
    where = (
        f" (validation {result.record.validation_id} of {result.name} version {result.version})"
        if result.record
        else ""
    )
    verdict = "PASSED" if result.passed else f"FAILED: {'; '.join(r.rule for r in result.failed)}"
    click.echo(f"Validation {verdict}{where}.")
    if result.report_uri:
        click.echo(f"Report: {result.report_uri}/validation.html", err=True)


def run_validation(
    model_uri: str,
    *,
    data: Path,
    target: str,
    rules: tuple[str, ...],
    baseline: str | None,
    task: str | None,
    gate: str | None,
    output_dir: Path | None,
    record: bool,
    latency_rows: int,
    allow_pickle: bool,
    tracking_uri: str | None,
) -> ValidationResult:
    """Run one validation for a command; bad input becomes exit code 2."""
    from dockyard.delivery.validation import validate

    try:
        return validate(
            model_uri,
            str(data),
            target,
            list(rules),
            baseline=baseline,
            task=task,
            gate=gate,
            record=record,
            output_dir=output_dir,
            latency_rows=latency_rows,
            allow_pickle=True if allow_pickle else None,
            client=build_client(tracking_uri),
        )
    except DockyardError as exc:
        raise UsageErrorLine(one_line(exc.message)) from None


data_option = click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    required=True,
    metavar="FILE",
    help="Labelled data: a Parquet, CSV or JSON Lines file.",
)
target_option = click.option("--target", required=True, metavar="COLUMN", help="The column holding the labels.")
rule_option = click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="RULE",
    help="A rule such as 'roc_auc >= 0.8', 'roc_auc >= baseline - 0.01', 'p95_latency_ms <= 20' (repeatable).",
)
baseline_option = click.option(
    "--baseline", metavar="URI", help="A model to compare with (e.g. models:/churn@champion)."
)
task_option = click.option("--task", type=TASKS, help="classifier or regressor [default: inferred from the labels].")


@click.command("validate", context_settings=CONTEXT_SETTINGS)
@click.argument("model_uri")
@data_option
@target_option
@rule_option
@baseline_option
@task_option
@click.option(
    "--gate",
    metavar="ALIAS|STAGE",
    help="Check the rules of this alias's (or stage's) gate too, against its current holder as the baseline.",
)
@click.option(
    "--output", "output_dir", type=click.Path(path_type=Path), metavar="DIR", help="Also write the report here."
)
@click.option("--summary", type=click.Path(path_type=Path), metavar="FILE", help="Write a Markdown summary here.")
@click.option("--no-record", is_flag=True, help="Do not write the report, tags and record to the registry.")
@click.option(
    "--latency-rows", type=click.IntRange(min=0), default=50, show_default=True, help="One-row predictions to time."
)
@click.option("--allow-pickle", is_flag=True, help="Let the model run code as it loads (trusted models only).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of tables.")
@tracking_uri_option
def validate_command(
    model_uri: str,
    data: Path,
    target: str,
    rules: tuple[str, ...],
    baseline: str | None,
    task: str | None,
    gate: str | None,
    output_dir: Path | None,
    summary: Path | None,
    no_record: bool,
    latency_rows: int,
    allow_pickle: bool,
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """Validate MODEL_URI on labelled data: metrics, latency, data checks and rules; recorded in the registry.

    Exits 0 when every rule passes, 1 when a rule fails, 2 on bad input."""
    from dockyard.delivery.report import render_markdown

    result = run_validation(
        model_uri,
        data=data,
        target=target,
        rules=rules,
        baseline=baseline,
        task=task,
        gate=gate,
        output_dir=output_dir,
        record=not no_record,
        latency_rows=latency_rows,
        allow_pickle=allow_pickle,
        tracking_uri=tracking_uri,
    )
    if summary is not None:
        summary.write_text(render_markdown(result), encoding="utf-8")
    if as_json:
        from dockyard.delivery.report import json_safe

        output.echo_json(json_safe(result.to_dict()))
    else:
        print_result(result)
    ctx = click.get_current_context()
    ctx.exit(result.exit_code)
