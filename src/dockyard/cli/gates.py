"""``dockyard models gate set|show|delete|check|validations``: the validation gates of a registered model.

A gate names an alias (``--alias champion``) or a stage (``--stage Production``) and the rules a version
must pass (``dockyard validate``) before the registry lets that alias or stage move to it; see
:mod:`dockyard.registry.gates`. The registry enforces gates on every move, whichever client asks.
"""

from __future__ import annotations

import click

from dockyard.cli import output
from dockyard.cli.common import CONTEXT_SETTINGS, DockyardGroup, tracking_uri_option
from dockyard.cli.registry_output import build_registry, json_option

STAGES = click.Choice(["None", "Staging", "Production", "Archived"], case_sensitive=False)

alias_option = click.option("--alias", "alias_name", metavar="ALIAS", help="The alias the gate guards (e.g. champion).")
stage_option = click.option("--stage", type=STAGES, help="The stage the gate guards (e.g. Production).")


def _one_target(alias_name: str | None, stage: str | None) -> None:
    if (alias_name is None) == (stage is None):
        raise click.UsageError("give exactly one of --alias and --stage")


@click.group("gate", cls=DockyardGroup, context_settings=CONTEXT_SETTINGS)
def gate() -> None:
    """Validation gates: the rules a version must pass before an alias or stage moves to it."""


@gate.command("set", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@alias_option
@stage_option
@click.option(
    "--rule",
    "rules",
    multiple=True,
    required=True,
    metavar="RULE",
    help="A rule such as 'roc_auc >= 0.80' or 'roc_auc >= baseline - 0.005' (repeatable; baseline: the "
    "version holding the alias or stage when the move is made).",
)
@json_option
@tracking_uri_option
def set_gate(
    name: str,
    alias_name: str | None,
    stage: str | None,
    rules: tuple[str, ...],
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """Require RULEs of every version the alias (or stage) of model NAME moves to; replaces its gate."""
    from dockyard.delivery.metrics import check_metric_name
    from dockyard.registry.gate_rules import parse_rule
    from dockyard.registry.gates import encode_gate

    _one_target(alias_name, stage)
    for text in rules:  # unknown metrics are refused here, before the registry stores a gate nothing can pass
        check_metric_name(parse_rule(text).metric, text)
    made = build_registry(tracking_uri).set_gate(name, list(rules), alias=alias_name, stage=stage)
    if as_json:
        output.echo_json({"gate": encode_gate(made)})
        return
    click.echo(f"Gate on {made.label} of {name}: {'; '.join(made.rules)}.")


@gate.command("show", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@json_option
@tracking_uri_option
def show_gates(name: str, as_json: bool, tracking_uri: str | None) -> None:
    """The gates of model NAME: each alias or stage and its rules."""
    from dockyard.registry.gates import encode_gate

    found = build_registry(tracking_uri).get_gates(name)
    if as_json:
        output.echo_json({"gates": [encode_gate(g) for g in found]})
        return
    if not found:
        click.echo(f"Model {name} has no gates.")
        return
    out = output.console()
    tbl = output.table(out, "Target", "Rule", "Set by", "Updated", keep=("Target", "Rule"))
    for g in found:
        for rule in g.rules:
            tbl.add_row(
                output.cell(g.label),
                output.cell(rule),
                output.cell(g.user_id),
                output.cell(output.format_time(g.last_updated_timestamp)),
            )
    output.emit(out, tbl)


@gate.command("delete", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@alias_option
@stage_option
@tracking_uri_option
def delete_gate(name: str, alias_name: str | None, stage: str | None, tracking_uri: str | None) -> None:
    """Remove the gate of an alias (or stage) of model NAME."""
    _one_target(alias_name, stage)
    build_registry(tracking_uri).delete_gate(name, alias=alias_name, stage=stage)
    click.echo(
        f"Removed the gate on {'alias ' + repr(alias_name) if alias_name else 'stage ' + repr(stage)} of {name}."
    )


@gate.command("check", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.argument("version")
@alias_option
@stage_option
@json_option
@tracking_uri_option
def check_gate(
    name: str, version: str, alias_name: str | None, stage: str | None, as_json: bool, tracking_uri: str | None
) -> None:
    """Whether VERSION may take the alias (or stage) now; exits 1 when the gate would refuse it."""
    from dockyard.registry.gates import encode_check

    _one_target(alias_name, stage)
    found = build_registry(tracking_uri).check_gate(name, version, alias=alias_name, stage=stage)
    if as_json:
        output.echo_json({"check": encode_check(found)})
    elif found.gate is None:
        click.echo(
            f"No gate on {'alias ' + repr(alias_name) if alias_name else 'stage ' + repr(stage)}: any version may move."
        )
    elif found.passed:
        click.echo(f"Version {found.version} passes the gate on {found.gate.label}.")
    else:
        for problem in found.problems:
            click.echo(problem)
    click.get_current_context().exit(0 if found.passed else 1)


@gate.command("validations", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--version", metavar="VERSION", help="Only this version's validations.")
@click.option(
    "--max-results", type=click.IntRange(min=1), default=20, show_default=True, help="Show at most this many."
)
@json_option
@tracking_uri_option
def list_validations(name: str, version: str | None, max_results: int, as_json: bool, tracking_uri: str | None) -> None:
    """The validation records of model NAME, newest first: outcome, rules, who and when."""
    from dockyard.registry.gates import encode_validation

    found = build_registry(tracking_uri).list_validations(name, version, max_results=max_results)
    if as_json:
        output.echo_json({"validations": [encode_validation(x) for x in found]})
        return
    out = output.console()
    tbl = output.table(out, "#", "Version", "Outcome", "Baseline", "Rules", "Who", "When", keep=("#", "Outcome"))
    for x in found:
        rules = "; ".join(f"{r.rule} {'ok' if r.passed else 'FAIL'}" for r in x.results)
        tbl.add_row(
            output.cell(x.validation_id),
            output.cell(x.version),
            output.cell("passed" if x.passed else "failed"),
            output.cell(x.baseline_version),
            output.cell(rules),
            output.cell(x.user_id),
            output.cell(output.format_time(x.timestamp)),
        )
    output.emit(out, tbl)
