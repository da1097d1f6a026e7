"""dockyard.integrations.optuna: trials as nested runs, the best trial on the parent, a progress bar, and a study
shared by two worker processes through Optuna's PostgreSQL storage."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import dockyard
import dockyard.integrations.optuna
from dockyard.core.errors import InvalidParameter, ParamValueChanged
from dockyard.tracking.entities import RunStatus

from conftest import POSTGRES_URI

optuna = pytest.importorskip("optuna")
OPTUNA_DATABASE = "dockyard_optuna_test"


@pytest.fixture(autouse=True)
def quiet_optuna() -> Iterator[None]:
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(before)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKYARD_CAPTURE_CONTEXT", "false")
    path = tmp_path / "optuna.db"
    dockyard.set_tracking_uri(str(path))
    return path


def objective(trial):  # type: ignore[no-untyped-def]
    x = trial.suggest_float("x", -3, 3)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    dockyard.log_metric("inside_objective", x)  # the trial's run is the active run here
    return (x - 1) ** 2 + (0.5 if kind == "b" else 0.0)


def children(client: dockyard.Client, parent_id: str) -> list[dockyard.Run]:
    parent = client.get_run(parent_id)
    return client.search_runs(
        [parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent_id}'", max_results=1000
    ).items


def test_each_trial_is_a_nested_run_and_the_parent_records_the_best(store: Path) -> None:
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(seed=0))
    with dockyard.start_run(run_name="search") as parent:
        dockyard.integrations.optuna.optimize(study, objective, n_trials=6, metric_name="loss", show_progress_bar=False)
        assert dockyard.active_run() is parent  # the trial runs were ended
    client = dockyard.Client(str(store))
    runs = children(client, parent.info.run_id)
    assert len(runs) == 6
    by_number = {int(r.data.tags["optuna.trial_number"]): r for r in runs}
    assert set(by_number) == {t.number for t in study.trials}
    for trial in study.trials:
        run = by_number[trial.number]
        assert run.data.params == {k: str(v) for k, v in trial.params.items()}
        assert run.data.metrics["loss"] == pytest.approx(trial.value)
        assert run.data.metrics["inside_objective"] == pytest.approx(trial.params["x"])
        assert run.data.tags["optuna.trial_state"] == "COMPLETE"
        assert run.info.status is RunStatus.FINISHED
        assert trial.user_attrs["dockyard.run_id"] == run.info.run_id
    stored = client.get_run(parent.info.run_id)
    best = study.best_trial
    assert stored.data.params == {f"best_{k}": str(v) for k, v in best.params.items()}
    assert stored.data.metrics["best_loss"] == pytest.approx(best.value)
    assert stored.data.tags["optuna.best_trial_number"] == str(best.number)
    assert stored.data.tags["optuna.best_trial_run_id"] == by_number[best.number].info.run_id
    assert study.user_attrs["dockyard.parent_run_id"] == parent.info.run_id


def test_without_an_active_run_a_parent_named_after_the_study_is_made(store: Path) -> None:
    study = optuna.create_study(study_name="lonely")
    dockyard.integrations.optuna.optimize(study, objective, n_trials=2, show_progress_bar=False)
    assert dockyard.active_run() is None
    client = dockyard.Client(str(store))
    (parent,) = client.search_runs(["0"], "attributes.run_name = 'lonely'").items
    assert parent.info.status is RunStatus.FINISHED
    assert "best_value" in parent.data.metrics
    assert len(children(client, parent.info.run_id)) == 2


def test_pruned_and_failed_trials(store: Path) -> None:
    def flaky(trial):  # type: ignore[no-untyped-def]
        x = trial.suggest_int("n", 0, 100)
        if trial.number == 1:
            raise optuna.TrialPruned()
        if trial.number == 2:
            raise RuntimeError("boom")
        return x

    study = optuna.create_study()
    with dockyard.start_run() as parent:
        dockyard.integrations.optuna.optimize(study, flaky, n_trials=4, catch=(RuntimeError,), show_progress_bar=False)
    runs = {
        int(r.data.tags["optuna.trial_number"]): r for r in children(dockyard.Client(str(store)), parent.info.run_id)
    }
    assert runs[1].data.tags["optuna.trial_state"] == "PRUNED" and runs[1].info.status is RunStatus.FINISHED
    assert runs[2].data.tags["optuna.trial_state"] == "FAIL" and runs[2].info.status is RunStatus.FAILED
    assert "value" not in runs[2].data.metrics and "n" in runs[2].data.params
    assert runs[0].data.tags["optuna.trial_state"] == "COMPLETE"


def test_multi_objective(store: Path) -> None:
    def two(trial):  # type: ignore[no-untyped-def]
        x = trial.suggest_float("x", 0, 1)
        return x, 1 - x

    study = optuna.create_study(directions=["minimize", "minimize"])
    with dockyard.start_run() as parent:
        dockyard.integrations.optuna.optimize(
            study, two, n_trials=3, metric_name=["cost", "risk"], show_progress_bar=False
        )
    client = dockyard.Client(str(store))
    run = children(client, parent.info.run_id)[0]
    assert run.data.metrics["cost"] + run.data.metrics["risk"] == pytest.approx(1.0)
    assert "optuna.best_trial_numbers" in client.get_run(parent.info.run_id).data.tags
    with pytest.raises(InvalidParameter, match="2 objective values"), dockyard.start_run():
        dockyard.integrations.optuna.optimize(study, two, n_trials=1, metric_name=["only"], show_progress_bar=False)


def test_best_params_are_params_so_a_changed_best_is_refused(store: Path) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    with dockyard.start_run() as parent:
        dockyard.integrations.optuna.optimize(study, objective, n_trials=2, show_progress_bar=False)
        study.enqueue_trial({"x": 1.0, "kind": "a"})  # the optimum: a new best

        def optimize_and_flush() -> None:
            dockyard.integrations.optuna.optimize(study, objective, n_trials=1, show_progress_bar=False)
            dockyard.flush()

        with pytest.raises(ParamValueChanged):
            optimize_and_flush()
    assert parent.info.run_id


def test_progress_bar(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = optuna.create_study(study_name="with-bar")
    with dockyard.start_run():
        dockyard.integrations.optuna.optimize(study, objective, n_trials=3, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "with-bar" in err and "3/3" in err and "best" in err


def test_callback_logs_finished_trials(store: Path) -> None:
    study = optuna.create_study()
    with dockyard.start_run() as parent:
        study.optimize(
            lambda t: t.suggest_float("y", 0, 1),
            n_trials=3,
            callbacks=[dockyard.integrations.optuna.DockyardCallback("score")],
        )
    runs = children(dockyard.Client(str(store)), parent.info.run_id)
    assert sorted(r.data.metrics["score"] for r in runs) == sorted(t.value for t in study.trials)
    assert all(r.info.status is RunStatus.FINISHED and r.info.end_time >= r.info.start_time for r in runs)
    with pytest.raises(InvalidParameter, match="parent run"):
        dockyard.integrations.optuna.DockyardCallback()


def test_models_logged_by_trials_store_the_training_profile(store: Path) -> None:
    import json

    import numpy as np
    import pandas as pd
    from sklearn.linear_model import Ridge

    import dockyard.sklearn
    from dockyard.models.profile import PROFILE_FILE

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"income": rng.normal(50.0, 10.0, 120), "plan": rng.integers(0, 3, 120)})
    y = x["income"] * 0.1 + x["plan"]

    def fit_and_log(trial):  # type: ignore[no-untyped-def]
        model = Ridge(alpha=trial.suggest_float("alpha", 0.1, 10.0)).fit(x, y)
        info = dockyard.sklearn.log_model(model, name="model")  # no training_data: the search's is used
        trial.set_user_attr("model_id", info.model_id)
        return float(model.score(x, y))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    with dockyard.start_run():
        dockyard.integrations.optuna.optimize(study, fit_and_log, n_trials=2, training_data=x, show_progress_bar=False)
    client = dockyard.Client(str(store))
    for trial in study.trials:
        location = Path(client.get_logged_model(trial.user_attrs["model_id"]).artifact_location)
        profile = json.loads((location / PROFILE_FILE).read_text())
        assert profile["rows"] == 120 and sorted(profile["columns"]) == ["income", "plan"]
        assert profile["columns"]["plan"]["kind"] == "categorical" and profile["predictions"]["kind"] == "numeric"
    # Outside a search, log_model without training_data stores no profile (the default does not leak).
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(Ridge().fit(x, y), name="model")
    assert not (Path(client.get_logged_model(info.model_id).artifact_location) / PROFILE_FILE).exists()


# -- two worker processes on one PostgreSQL study ---------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys
    import optuna
    import dockyard, dockyard.integrations.optuna

    storage, study_name, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=storage)

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        dockyard.log_metric("worker_pid", float(__import__("os").getpid()))
        return (x - 1) ** 2

    dockyard.integrations.optuna.optimize(study, objective, n_trials=n_trials, log_best=False, show_progress_bar=False)
    """
)


@pytest.fixture
def optuna_postgres() -> str:
    """Optuna's storage in its own PostgreSQL database (created here when .ci/run has not made it)."""
    if not POSTGRES_URI:
        pytest.skip("DOCKYARD_TEST_POSTGRES_URI is not set")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(POSTGRES_URI)
    engine = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": OPTUNA_DATABASE}).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{OPTUNA_DATABASE}"'))
    finally:
        engine.dispose()
    return base.set(database=OPTUNA_DATABASE).render_as_string(hide_password=False)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_worker_processes_share_one_postgres_study(
    optuna_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dockyard's store is the test PostgreSQL database too (a fresh experiment, no truncation)."""
    db_uri = POSTGRES_URI
    monkeypatch.setenv("DOCKYARD_CAPTURE_CONTEXT", "false")
    dockyard.set_tracking_uri(db_uri)
    name = f"shared-{uuid.uuid4().hex[:12]}"
    dockyard.set_experiment(name)
    storage = optuna.storages.RDBStorage(optuna_postgres)
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize")
    try:
        with dockyard.start_run(run_name="distributed-search") as parent:
            dockyard.integrations.optuna.set_parent_run(study, parent.info.run_id)
            script = tmp_path / "worker.py"
            script.write_text(WORKER)
            env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
            env.update(DOCKYARD_TRACKING_URI=db_uri, DOCKYARD_CAPTURE_CONTEXT="false")
            workers = [
                subprocess.Popen(
                    [sys.executable, str(script), optuna_postgres, name, "5"],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            for worker in workers:
                _, err = worker.communicate(timeout=240)
                assert worker.returncode == 0, err
            study = optuna.load_study(study_name=name, storage=storage)
            best = dockyard.integrations.optuna.log_best_trial(study, parent.info.run_id)
        trials = study.get_trials()
        assert len(trials) == 10 and all(t.state.name == "COMPLETE" for t in trials)
        client = dockyard.Client(db_uri)
        runs = children(client, parent.info.run_id)
        assert len(runs) == 10  # no trial lost
        assert sorted(int(r.data.tags["optuna.trial_number"]) for r in runs) == list(range(10))
        assert len({r.data.metrics["worker_pid"] for r in runs}) == 2  # both workers ran trials
        by_id = {r.info.run_id: r for r in runs}
        for trial in trials:
            assert by_id[trial.user_attrs["dockyard.run_id"]].data.params == {"x": str(trial.params["x"])}
        stored = client.get_run(parent.info.run_id)
        assert stored.data.tags["optuna.best_trial_run_id"] == best.user_attrs["dockyard.run_id"]
        assert stored.data.metrics["best_value"] == pytest.approx(study.best_value)
        client.close()
    finally:
        optuna.delete_study(study_name=name, storage=storage)
        storage.remove_session()
        storage.engine.dispose()
