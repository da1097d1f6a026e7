"""``dockyard validate`` and ``dockyard models gate ...`` / ``promote --validate`` on a local store:
exit codes 0 (pass), 1 (a failed rule), 2 (bad input), the printed table, the Markdown summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from delivery.conftest import Registered, churn, regression, store  # noqa: F401  # fixtures
from dockyard.cli import main


def run(*args: str) -> Any:
    """``dockyard ARGS`` on the test's store (the ``store`` fixture made it the fluent API's too)."""
    import dockyard

    return CliRunner().invoke(main, [*args, "--tracking-uri", dockyard.get_tracking_uri()], catch_exceptions=False)


def test_exit_codes_pass_fail_and_bad_input(churn: Registered, tmp_path: Path) -> None:  # noqa: F811
    base = ["validate", "models:/churn/1", "--data", str(churn.test_path), "--target", "default"]
    summary = tmp_path / "summary.md"
    ok = run(*base, "--rule", "roc_auc >= 0.75", "--summary", str(summary), "--latency-rows", "5")
    assert ok.exit_code == 0, ok.output
    assert "roc_auc >= 0.75" in ok.output and "PASS" in ok.output and "Validation PASSED" in ok.output
    assert summary.read_text().startswith("### Validation of `churn` version 1: passed")
    failed = run(*base, "--rule", "roc_auc >= 0.99", "--latency-rows", "5")
    assert failed.exit_code == 1, failed.output
    assert "Validation FAILED: roc_auc >= 0.99" in failed.output
    for extra, message in (
        (["--rule", "roc_auc >> 0.7"], "rule 'roc_auc >> 0.7': expected a number or 'baseline' at position 9"),
        (["--rule", "roc_auc >= 0.7", "--target", "missing"], "no column 'missing'"),
    ):
        bad = run(*base, *extra)
        assert bad.exit_code == 2, bad.output
        assert message in bad.output and bad.output.startswith("Error: ")
    missing_file = run("validate", "models:/churn/1", "--data", "nope.csv", "--target", "default", "--rule", "f1 > 0")
    assert missing_file.exit_code == 2 and "no such file" in missing_file.output


def test_json_output(regression: tuple[str, Path]) -> None:  # noqa: F811
    name, path = regression
    out = run(
        "validate",
        f"models:/{name}/1",
        "--data",
        str(path),
        "--target",
        "price",
        "--rule",
        "rmse <= 1",
        "--json",
        "--no-record",
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["passed"] is True and payload["task"] == "regressor" and payload["validation_id"] is None


def test_gate_commands_and_promote_with_validation(churn: Registered) -> None:  # noqa: F811
    made = run(
        "models",
        "gate",
        "set",
        "churn",
        "--alias",
        "champion",
        "--rule",
        "roc_auc >= 0.75",
        "--rule",
        "roc_auc >= baseline - 0.01",
    )
    assert made.exit_code == 0, made.output
    assert "Gate on alias 'champion' of churn: roc_auc >= 0.75; roc_auc >= baseline - 0.01." in made.output
    shown = run("models", "gate", "show", "churn", "--json")
    assert json.loads(shown.output)["gates"][0]["rules"] == ["roc_auc >= 0.75", "roc_auc >= baseline - 0.01"]
    unknown = run("models", "gate", "set", "churn", "--alias", "champion", "--rule", "auc >= 0.7")
    assert unknown.exit_code == 1 and "unknown metric 'auc'" in unknown.output
    refused = run("models", "promote", "churn", "1", "--alias", "champion")
    assert refused.exit_code == 1 and "has no validation" in refused.output
    check = run("models", "gate", "check", "churn", "1", "--alias", "champion")
    assert check.exit_code == 1 and "rule 'roc_auc >= 0.75' of alias 'champion'" in check.output
    data = ["--data", str(churn.test_path), "--target", "default"]
    first = run("models", "promote", "churn", "1", "--alias", "champion", "--validate", *data)
    assert first.exit_code == 0, first.output
    assert "Promoted churn version 1: alias 'champion'." in first.output
    degraded = run("models", "promote", "churn", "2", "--alias", "champion", "--validate", *data)
    assert degraded.exit_code == 1, degraded.output
    assert "Not promoted: version 2 failed" in degraded.output and "roc_auc >= baseline - 0.01" in degraded.output
    forced = run("models", "promote", "churn", "2", "--alias", "champion", "--force", "--reason", "demo")
    assert forced.exit_code == 0, forced.output
    history = run("models", "history", "churn", "--json")
    assert "forced past the gate" in history.output
    records = run("models", "gate", "validations", "churn", "--json")
    assert [v["version"] for v in json.loads(records.output)["validations"]] == ["2", "1"]
