from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import dockyard
from dockyard.core.errors import InvalidParameter, LoggingFailed, ParamValueChanged
from dockyard.tracking.entities import LifecycleStage, RunStatus


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "fluent.db"
    dockyard.set_tracking_uri(str(path))
    return path


def fresh_client(store: Path) -> dockyard.Client:
    """A client with no queue of its own: it sees only what reached the database."""
    return dockyard.Client(str(store))


def test_default_store_is_dot_dockyard_in_cwd() -> None:
    with dockyard.start_run() as run:
        dockyard.log_metric("m", 1.0)
    assert dockyard.get_tracking_uri() == f"sqlite:///{Path.cwd() / '.dockyard' / 'dockyard.db'}"
    assert (Path.cwd() / ".dockyard" / "dockyard.db").is_file()
    assert Path(run.info.artifact_uri).is_relative_to(Path.cwd() / ".dockyard" / "artifacts")


def test_environment_variable_selects_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKYARD_TRACKING_URI", str(tmp_path / "env.db"))
    with dockyard.start_run():
        pass
    assert (tmp_path / "env.db").is_file()
    assert dockyard.get_tracking_uri() == f"sqlite:///{tmp_path / 'env.db'}"


def test_run_lifecycle_and_logging(store: Path) -> None:
    exp = dockyard.set_experiment("fluent")
    with dockyard.start_run(run_name="first", tags={"team": "risk"}, description="a note") as run:
        assert dockyard.active_run() is run
        dockyard.log_param("lr", 0.1)
        dockyard.log_params({"depth": 6, "loss": "log"})
        for step in range(5):
            dockyard.log_metric("loss", 1.0 / (step + 1), step=step)
        dockyard.log_metrics({"acc": 0.9, "f1": 0.8}, step=4)
        dockyard.set_tag("stage", "dev")
        dockyard.set_tags({"a": 1, "b": 2})
    assert dockyard.active_run() is None
    stored = fresh_client(store).get_run(run.info.run_id)
    assert stored.info.experiment_id == exp.experiment_id
    assert stored.info.status is RunStatus.FINISHED and stored.info.end_time is not None
    assert stored.info.run_name == "first"
    assert stored.data.params == {"lr": "0.1", "depth": "6", "loss": "log"}
    assert stored.data.metrics == {"loss": 0.2, "acc": 0.9, "f1": 0.8}
    tags = stored.data.tags
    assert tags["team"] == "risk" and tags["stage"] == "dev" and tags["a"] == "1"
    assert tags["mlflow.note.content"] == "a note"
    assert tags["mlflow.runName"] == "first"
    assert [m.step for m in fresh_client(store).get_metric_history(run.info.run_id, "loss")] == list(range(5))


def test_context_is_captured_on_every_run(store: Path) -> None:
    with dockyard.start_run() as run:
        pass
    dockyard.flush()  # the reproducibility files are written in the background
    stored = fresh_client(store).get_run(run.info.run_id)
    for key in ("mlflow.user", "mlflow.source.name", "mlflow.source.type", "dockyard.python.version", "dockyard.host"):
        assert stored.data.tags.get(key), key
    paths = [f.path for f in fresh_client(store).list_artifacts(run.info.run_id, "dockyard")]
    assert "dockyard/packages.txt" in paths


def test_context_capture_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKYARD_TRACKING_URI", str(tmp_path / "plain.db"))
    monkeypatch.setenv("DOCKYARD_CAPTURE_CONTEXT", "false")
    with dockyard.start_run() as run:
        pass
    assert "dockyard.host" not in dockyard.get_run(run.info.run_id).data.tags


def test_exception_ends_run_failed(store: Path) -> None:
    def log_then_fail() -> None:
        dockyard.log_metric("m", 1.0)
        1 / 0  # noqa: B018

    with pytest.raises(ZeroDivisionError), dockyard.start_run() as run:
        log_then_fail()
    stored = fresh_client(store).get_run(run.info.run_id)
    assert stored.info.status is RunStatus.FAILED
    assert stored.data.metrics == {"m": 1.0}


def test_keyboard_interrupt_ends_run_killed(store: Path) -> None:
    with pytest.raises(KeyboardInterrupt), dockyard.start_run() as run:
        raise KeyboardInterrupt
    assert fresh_client(store).get_run(run.info.run_id).info.status is RunStatus.KILLED


def test_nested_runs(store: Path) -> None:
    with dockyard.start_run() as parent:
        with pytest.raises(InvalidParameter, match="already active"):
            dockyard.start_run()
        with dockyard.start_run(nested=True) as child:
            assert dockyard.active_run() is child
        assert dockyard.active_run() is parent
    client = fresh_client(store)
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert client.get_run(child.info.run_id).info.experiment_id == parent.info.experiment_id
    assert client.get_run(child.info.run_id).info.status is RunStatus.FINISHED


def test_exception_in_nested_block_fails_only_what_it_leaves(store: Path) -> None:
    with (
        pytest.raises(ValueError, match="boom"),
        dockyard.start_run() as parent,
        dockyard.start_run(nested=True) as child,
    ):
        raise ValueError("boom")
    client = fresh_client(store)
    assert client.get_run(child.info.run_id).info.status is RunStatus.FAILED
    assert client.get_run(parent.info.run_id).info.status is RunStatus.FAILED


def test_resume_run_by_id(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_metric("m", 1.0, step=0)
    with dockyard.start_run(run_id=run.info.run_id):
        dockyard.log_metric("m", 2.0, step=1)
        assert fresh_client(store).get_run(run.info.run_id).info.status is RunStatus.RUNNING
    stored = fresh_client(store).get_run(run.info.run_id)
    assert stored.info.status is RunStatus.FINISHED
    assert stored.data.metrics == {"m": 2.0}


def test_end_run_without_active_run_is_a_noop(store: Path) -> None:
    dockyard.end_run()
    assert dockyard.active_run() is None


def test_logging_without_a_run_starts_one(store: Path) -> None:
    dockyard.log_metric("auto", 1.0)
    run = dockyard.active_run()
    assert run is not None
    dockyard.end_run()
    assert fresh_client(store).get_run(run.info.run_id).data.metrics == {"auto": 1.0}


def test_values_are_written_within_the_interval_without_end_run(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_metric("m", 1.0)
        dockyard.flush()
        assert fresh_client(store).get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_synchronous_true_writes_before_returning(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_metric("m", 1.0, synchronous=True)
        dockyard.log_param("p", "x", synchronous=True)
        dockyard.set_tag("t", "v", synchronous=True)
        stored = fresh_client(store).get_run(run.info.run_id)
        assert stored.data.metrics == {"m": 1.0}
        assert stored.data.params == {"p": "x"}
        assert stored.data.tags["t"] == "v"


def test_async_logging_off_by_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKYARD_TRACKING_URI", str(tmp_path / "sync.db"))
    monkeypatch.setenv("DOCKYARD_ASYNC_LOGGING", "false")
    with dockyard.start_run() as run:
        dockyard.log_metric("m", 1.0)
        assert dockyard.Client(str(tmp_path / "sync.db")).get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_invalid_values_fail_at_the_call(store: Path) -> None:
    with dockyard.start_run():
        with pytest.raises(InvalidParameter, match="metric key"):
            dockyard.log_metric("bad key!", 1.0)
        with pytest.raises(InvalidParameter, match="must be a number"):
            dockyard.log_metric("m", "x")  # type: ignore[arg-type]
        with pytest.raises(InvalidParameter, match="dict"):
            dockyard.log_params(["a"])  # type: ignore[arg-type]


def test_param_conflict_in_async_mode_fails_at_the_call(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_param("p", 1)
        with pytest.raises(ParamValueChanged, match="immutable"):
            dockyard.log_param("p", 2)
        dockyard.log_metric("m", 1.0)
    stored = fresh_client(store).get_run(run.info.run_id)
    assert stored.data.params == {"p": "1"} and stored.data.metrics == {"m": 1.0}


def test_param_conflict_with_stored_value_surfaces_at_end_run_and_loses_nothing_else(store: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_param("p", 1, synchronous=True)
    dockyard.start_run(run_id=run.info.run_id)
    dockyard.log_params({"p": 2, "q": 3})  # p conflicts with the stored value; q does not
    dockyard.log_metric("m", 1.0)
    with pytest.raises(LoggingFailed, match="immutable"):
        dockyard.end_run()
    assert dockyard.active_run() is None
    stored = fresh_client(store).get_run(run.info.run_id)
    assert stored.data.params == {"p": "1", "q": "3"}
    assert stored.data.metrics == {"m": 1.0}
    assert stored.info.status is RunStatus.FINISHED


def test_artifacts(store: Path, tmp_path: Path) -> None:
    local = tmp_path / "report.txt"
    local.write_text("hello")
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    with dockyard.start_run() as run:
        dockyard.log_artifact(local)
        dockyard.log_artifact(local, artifact_path="docs")
        dockyard.log_artifacts(folder, artifact_path="plots")
        dockyard.log_text("some text", "notes/readme.md")
        dockyard.log_dict({"a": [1, 2]}, "config.json")
        dockyard.log_dict({"a": [1, 2]}, "config.yaml")
        top = {f.path for f in dockyard.list_artifacts()}
    assert {"report.txt", "docs", "plots", "notes", "config.json", "config.yaml", "dockyard"} == top
    client = fresh_client(store)
    out = Path(client.download_artifacts(run.info.run_id, "config.json", tmp_path / "dl"))
    assert json.loads(out.read_text()) == {"a": [1, 2]}
    out = Path(client.download_artifacts(run.info.run_id, "config.yaml", tmp_path / "dl2"))
    assert "a:" in out.read_text()
    assert [f.path for f in client.list_artifacts(run.info.run_id, "plots")] == ["plots/a.csv"]
    assert dockyard.get_artifact_uri is not None


def test_log_figure(store: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with dockyard.start_run() as run:
        dockyard.log_figure(fig, "charts/line.png")
        with pytest.raises(InvalidParameter, match="Figure"):
            dockyard.log_figure("not a figure", "x.png")
    plt.close(fig)
    files = fresh_client(store).list_artifacts(run.info.run_id, "charts")
    assert files[0].path == "charts/line.png" and files[0].file_size and files[0].file_size > 100


def test_artifact_path_escape_is_refused(store: Path, tmp_path: Path) -> None:
    from dockyard.core.errors import InvalidArtifactPath

    local = tmp_path / "f.txt"
    local.write_text("x")
    with dockyard.start_run():
        with pytest.raises(InvalidArtifactPath):
            dockyard.log_artifact(local, artifact_path="../../outside")
        with pytest.raises(InvalidArtifactPath):
            dockyard.log_text("x", "/etc/passwd")


def test_log_input_pandas_numpy_parquet(store: Path, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    df.to_parquet(tmp_path / "train.parquet")
    with dockyard.start_run() as run:
        described = dockyard.log_input(df, context="training", name="frame", targets="y")
        dockyard.log_input(np.zeros((4, 2)), context="eval", name="array")
        dockyard.log_input(str(tmp_path / "train.parquet"), context="training")
    inputs = {i.dataset.name: i for i in fresh_client(store).get_run(run.info.run_id).inputs.dataset_inputs}
    assert set(inputs) == {"frame", "array", "train"}
    assert inputs["frame"].dataset.digest == described.digest
    assert json.loads(inputs["frame"].dataset.profile)["num_rows"] == 3
    assert inputs["frame"].tags == {"mlflow.data.context": "training"}
    assert json.loads(inputs["train"].dataset.source)["uri"] == str(tmp_path / "train.parquet")
    # same content, same digest: the parquet file holds the same frame
    assert inputs["train"].dataset.digest == dockyard.data.from_pandas(df).digest
    with pytest.raises(InvalidParameter, match="cannot describe"), dockyard.start_run():
        dockyard.log_input(object())


def test_search_runs_gives_a_frame_by_default_and_a_list_when_asked(store: Path) -> None:
    pytest.importorskip("pandas")
    dockyard.set_experiment("search")
    for lr in (0.1, 0.2, 0.3):
        with dockyard.start_run():
            dockyard.log_param("lr", lr)
            dockyard.log_metric("acc", lr * 2)
    frame = dockyard.search_runs(filter_string="metrics.acc > 0.3", order_by=["metrics.acc DESC"])
    assert list(frame["params.lr"]) == ["0.3", "0.2"]
    assert list(frame.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert {"metrics.acc", "tags.mlflow.runName"} <= set(frame.columns)
    assert "UTC" in str(frame["start_time"].dtype)
    runs = dockyard.search_runs(order_by=["params.lr"], output_format="list")
    assert [r.data.params["lr"] for r in runs] == ["0.1", "0.2", "0.3"]
    # Dockyard's older spelling keeps working: output="runs" is the list, output="pandas" the frame.
    assert {r.info.run_id for r in dockyard.search_runs(output="runs")} == {r.info.run_id for r in runs}
    assert len(dockyard.search_runs(output="pandas")) == 3
    by_name = dockyard.search_runs(experiment_names=["search"], output_format="list")
    assert len(by_name) == 3
    assert dockyard.search_runs(experiment_ids=["0"], output_format="list") == []
    assert dockyard.search_runs(experiment_ids=["0"]).empty
    assert len(dockyard.search_runs(search_all_experiments=True)) == 3
    with pytest.raises(InvalidParameter, match="no experiment named"):
        dockyard.search_runs(experiment_names=["nope"])
    with pytest.raises(InvalidParameter, match="output_format must be 'pandas' or 'list'"):
        dockyard.search_runs(output_format="csv")
    with pytest.raises(InvalidParameter, match="disagree"):
        dockyard.search_runs(output="runs", output_format="pandas")


def test_search_runs_without_pandas_gives_the_list(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with dockyard.start_run():
        pass
    monkeypatch.setitem(sys.modules, "pandas", None)
    runs = dockyard.search_runs(experiment_ids=["0"])
    assert isinstance(runs, list) and len(runs) == 1


def test_set_experiment(store: Path) -> None:
    created = dockyard.set_experiment("new-one")
    assert dockyard.set_experiment("new-one").experiment_id == created.experiment_id
    assert dockyard.set_experiment(experiment_id=created.experiment_id).name == "new-one"
    with pytest.raises(InvalidParameter, match="exactly one"):
        dockyard.set_experiment()
    dockyard.delete_experiment(created.experiment_id)
    with pytest.raises(InvalidParameter, match="deleted"):
        dockyard.set_experiment("new-one")
    assert dockyard.get_experiment(created.experiment_id).lifecycle_stage is LifecycleStage.DELETED


def test_experiment_helpers(store: Path) -> None:
    exp_id = dockyard.create_experiment("helpers", tags={"k": "v"})
    assert dockyard.get_experiment_by_name("helpers").tags == {"k": "v"}  # type: ignore[union-attr]
    assert "helpers" in [e.name for e in dockyard.search_experiments()]
    assert [e.name for e in dockyard.search_experiments(filter_string="name = 'helpers'")] == ["helpers"]
    assert dockyard.get_experiment(exp_id).name == "helpers"


def test_last_active_run_and_delete(store: Path) -> None:
    with dockyard.start_run() as run:
        pass
    last = dockyard.last_active_run()
    assert last is not None and last.info.run_id == run.info.run_id
    dockyard.delete_run(run.info.run_id)
    assert dockyard.get_run(run.info.run_id).info.lifecycle_stage is LifecycleStage.DELETED


def test_switching_tracking_uri_flushes_first(tmp_path: Path) -> None:
    dockyard.set_tracking_uri(str(tmp_path / "one.db"))
    run = dockyard.start_run()
    dockyard.log_metric("m", 1.0)
    dockyard.end_run()
    dockyard.set_tracking_uri(str(tmp_path / "two.db"))
    assert dockyard.search_runs(output_format="list") == []
    assert dockyard.Client(str(tmp_path / "one.db")).get_run(run.info.run_id).data.metrics == {"m": 1.0}
