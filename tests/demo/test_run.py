"""The end-to-end demo, small: twice on one store, serving over a real socket the second time."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import dockyard
from dockyard.cli import main
from dockyard.core.errors import InvalidParameter
from dockyard.demo.run import ALIAS, EXPERIMENT, MODEL_NAME, DemoConfig, run_demo

pytest.importorskip("optuna")

SMALL = {"n_rows": 1_500, "n_trials": 2, "max_iter": 20}


@pytest.mark.slow
def test_demo_twice_registers_compares_promotes_and_serves(tmp_path: Path) -> None:
    dockyard.set_tracking_uri(str(tmp_path / "store.db"))
    lines: list[str] = []
    first = run_demo(DemoConfig(**SMALL, serve=False), say=lines.append)
    assert (first.version, first.champion_before, first.promoted, first.champion) == (1, None, True, 1)
    # The degraded candidate (shuffled labels) is registered next and refused by the gate on the alias.
    assert first.degraded_version == 2
    assert any(line.startswith("   the registry refused version 2:") for line in lines)
    assert 0.5 < first.baseline_auc < 1 and 0.5 < first.test_auc < 1

    second = run_demo(DemoConfig(**SMALL, seed=1), say=lines.append)
    assert second.version == 3 and second.champion_before == 1 and second.degraded_version == 4
    assert second.promoted == (second.test_auc >= (second.champion_before_auc or 0.0))
    assert second.champion == (3 if second.promoted else 1)

    client = dockyard.Client(str(tmp_path / "store.db"))
    assert int(client.get_model_version_by_alias(MODEL_NAME, ALIAS).version) == second.champion
    events = client.get_registry_events(MODEL_NAME, alias=ALIAS).items
    assert [e.to_version for e in events] == ([1, 3] if second.promoted else [1])
    assert "first version" in (events[0].reason or "")

    # The search: every trial a nested run under gbm-search, itself under the demo's parent run.
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100).items
    children = {r.info.run_name for r in runs if r.data.tags.get("mlflow.parentRunId") == second.parent_run_id}
    assert children == {"logistic-baseline", "gbm-search", "best-model", "degraded-candidate"}
    assert sum(r.info.run_name.startswith("trial-") for r in runs) == 4
    parent = client.get_run(second.parent_run_id)
    assert parent.inputs.dataset_inputs and parent.inputs.dataset_inputs[0].dataset.digest

    # Served: four applications, each a probability, answered by the champion.
    assert len(second.predictions) == 4
    assert all(0.0 <= p["p_default"] <= 1.0 for p in second.predictions)
    assert any("answered by version" in line for line in lines)


def test_cli_demo_without_serving(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["demo", "--rows", "800", "--trials", "1", "--max-iter", "5", "--no-serve", "--tracking-uri", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "registered lending-club-default version 1" in result.output
    assert "dockyard models versions lending-club-default" in result.output


@pytest.mark.parametrize(("field", "value"), [("n_rows", 10), ("n_trials", 0), ("max_iter", 0)])
def test_bad_configuration(field: str, value: int) -> None:
    with pytest.raises(InvalidParameter, match=field):
        DemoConfig(**{field: value})
