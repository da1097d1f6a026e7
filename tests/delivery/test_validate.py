"""``dockyard.validate``: metrics, latency, data checks, rules, and the record the registry's gates read."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import dockyard
from dockyard.core.errors import GateRefused, InvalidParameter, ModelInputError
from dockyard.delivery.validation import validate
from dockyard.models.profile import PROFILE_FILE

from .conftest import Registered, encode, make_frame


def test_a_good_model_passes_and_its_validation_is_recorded(churn: Registered, tmp_path: Path) -> None:
    result = validate(
        "models:/churn/1",
        str(churn.test_path),
        "default",
        ["roc_auc >= 0.75", "p95_latency_ms <= 1000", "accuracy > 0.6"],
        output_dir=tmp_path / "out",
    )
    assert result.passed and result.exit_code == 0 and result.task == "classifier"
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "p95_latency_ms", "max_psi"} <= set(
        result.metrics
    )
    assert result.metrics["rows"] == 600 and result.drift is not None and not result.drift.drifted
    client = dockyard.Client(churn.store)
    tags = client.get_model_version("churn", 1).tags
    assert tags["validation.status"] == "passed" and tags["validation.id"] == str(result.record.validation_id)
    record = client.registry.list_validations("churn", 1)[0]
    assert record.passed and record.data_digest == result.data["digest"] and len(record.data_digest) == 64
    assert [r.rule for r in record.results] == ["roc_auc >= 0.75", "p95_latency_ms <= 1000", "accuracy > 0.6"]
    # The report is logged to the version's run, and written where asked.
    assert result.report_uri is not None and result.report_uri.startswith("runs:/")
    run_id = result.report_uri.split("/")[1]
    folder = result.report_uri.split("/", 2)[2]
    assert sorted(a.path.rsplit("/", 1)[-1] for a in client.list_artifacts(run_id, folder)) == [
        "validation.html",
        "validation.json",
    ]
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert report["passed"] is True and report["metrics"]["roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    page = (tmp_path / "out" / "validation.html").read_text()
    assert "roc_auc &gt;= 0.75" in page and "<svg" in page and "Confusion matrix" in page


def test_a_worse_candidate_fails_against_the_baseline_and_the_gate_refuses_it(churn: Registered) -> None:
    client = dockyard.Client(churn.store)
    client.registry.set_gate("churn", ["roc_auc >= 0.75", "roc_auc >= baseline - 0.01"], alias="champion")
    first = validate("models:/churn/1", str(churn.test_path), "default", gate="champion")
    assert first.passed and first.skipped == ["roc_auc >= baseline - 0.01"]
    client.registry.set_registered_model_alias("churn", "champion", 1)
    degraded = validate("models:/churn/2", str(churn.test_path), "default", gate="champion")
    assert not degraded.passed and degraded.exit_code == 1
    assert degraded.baseline_version == 1 and degraded.baseline_uri == "models:/churn/1"
    failed = {r.rule for r in degraded.failed}
    assert "roc_auc >= baseline - 0.01" in failed
    assert degraded.metrics["agreement(baseline)"] < 1.0 and degraded.baseline_metrics["roc_auc"] > 0.75
    with pytest.raises(GateRefused, match=r"roc_auc >= baseline - 0\.01"):
        client.registry.set_registered_model_alias("churn", "champion", 2)
    assert client.get_model_version("churn", 2).tags["validation.status"] == "failed"


def test_the_regression_task_is_inferred(regression: tuple[str, Path]) -> None:
    name, path = regression
    result = validate(f"models:/{name}/1", str(path), "price", ["rmse <= 0.5", "r2 >= 0.95"])
    assert result.task == "regressor" and result.passed
    assert result.metrics["rmse"] < 0.5 and "roc_auc" not in result.metrics
    assert "points" in result.extras


def test_shifted_data_is_reported_against_the_training_profile(churn: Registered, tmp_path: Path) -> None:
    shifted = make_frame(600, 9, shift=2.0)
    path = tmp_path / "shifted.csv"
    encode(shifted).assign(default=shifted["default"]).to_csv(path, index=False)
    result = validate("models:/churn/1", str(path), "default", ["max_psi <= 0.2"], record=False)
    assert not result.passed and result.drift is not None
    assert [c.column for c in result.drift.drifted] == ["income", "prediction"]


def test_the_profile_is_stored_with_the_model(churn: Registered) -> None:
    directory = Path(dockyard.Client(churn.store).get_model_version_download_uri("churn", 1))
    profile = json.loads((directory / PROFILE_FILE).read_text())
    assert profile["rows"] == 2000 and set(profile["columns"]) == set(encode(churn.train).columns)
    assert profile["columns"]["income"]["kind"] == "numeric" and len(profile["columns"]["income"]["quantiles"]) == 101
    assert profile["predictions"]["kind"] == "categorical"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"target": "nope"}, InvalidParameter, r"target: no column 'nope' in the data \(its columns: income"),
        (
            {"rules": ["roc_auc >== 0.7"]},
            InvalidParameter,
            r"rule 'roc_auc >== 0.7': expected a number or 'baseline' at position 10",
        ),
        ({"rules": ["roc_acu >= 0.7"]}, InvalidParameter, r"unknown metric 'roc_acu'"),
        ({"rules": ["roc_auc >= baseline"]}, InvalidParameter, r"compares with a baseline: give a baseline"),
        ({"rules": []}, InvalidParameter, r"give at least one rule"),
        ({"data": "missing.parquet"}, InvalidParameter, r"data: no such file"),
        ({"task": "ranking"}, InvalidParameter, r"task 'ranking': use classifier or regressor"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(
    churn: Registered, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {"data": str(churn.test_path), "target": "default", "rules": ["roc_auc >= 0.7"], **kwargs}
    with pytest.raises(error, match=message):
        validate("models:/churn/1", **args)  # type: ignore[arg-type]


def test_empty_data_and_data_the_signature_refuses(churn: Registered, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("income,debt,default\n")
    with pytest.raises(InvalidParameter, match="data: the data is empty"):
        validate("models:/churn/1", str(empty), "default", ["accuracy >= 0.5"])
    frame = pd.read_parquet(churn.test_path).drop(columns=["debt"])
    with pytest.raises(ModelInputError, match="debt"):
        validate("models:/churn/1", frame, "default", ["accuracy >= 0.5"])


def test_comparison_metrics_against_an_explicit_baseline(churn: Registered) -> None:
    rules = ["max_abs_diff(baseline) <= 0.2", "agreement(baseline) >= 0.9", "mean_abs_diff(baseline) < 1"]
    same = validate("models:/churn/1", str(churn.test_path), "default", rules, baseline="models:/churn/1", record=False)
    assert same.passed and same.metrics["max_abs_diff(baseline)"] == 0.0 and same.metrics["agreement(baseline)"] == 1.0
    other = validate(
        "models:/churn/2", str(churn.test_path), "default", rules, baseline="models:/churn/1", record=False
    )
    assert [r.rule for r in other.failed][:2] == ["max_abs_diff(baseline) <= 0.2", "agreement(baseline) >= 0.9"]
