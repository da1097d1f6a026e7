"""The official ``mlflow`` client against a real ``dockyard server`` process.

One server for the module (a subprocess on a free port, SQLite store, artifact proxy into a temporary
folder). Each test points MLflow's fluent API and an ``MlflowClient`` at it, uses experiment names of
its own, and reads back through the client what it wrote. The client runs with no retries and a short
timeout, so a server bug fails the test at once instead of being retried for minutes.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from pathlib import Path

import pytest

# Importing mlflow starts its usage telemetry unless this is set first: no traffic leaves the machine.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import mlflow
import pandas as pd
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException

from server.dockyard_process import Server

# mlflow's own pandas calls (dataset digests, log_table) use APIs that pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning:mlflow")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _use_experiment(prefix: str) -> str:
    return str(mlflow.set_experiment(_name(prefix)).experiment_id)


# ---------------------------------------------------------------------- experiments


def test_set_experiment_creates_then_gets(client: MlflowClient) -> None:
    name = _name("set-exp")
    created = mlflow.set_experiment(name)
    assert created.name == name
    assert created.lifecycle_stage == "active"
    assert created.artifact_location == f"mlflow-artifacts:/{created.experiment_id}"
    again = mlflow.set_experiment(name)
    assert again.experiment_id == created.experiment_id
    fetched = client.get_experiment_by_name(name)
    assert fetched is not None
    assert fetched.experiment_id == created.experiment_id
    assert client.get_experiment(created.experiment_id).name == name
    by_id = mlflow.set_experiment(experiment_id=created.experiment_id)
    assert by_id.name == name


def test_get_experiment_by_name_missing_is_none(client: MlflowClient) -> None:
    assert client.get_experiment_by_name(_name("missing")) is None
    assert mlflow.get_experiment_by_name(_name("missing")) is None


def test_create_experiment_twice_is_resource_already_exists(client: MlflowClient) -> None:
    name = _name("dup")
    client.create_experiment(name, tags={"team": "a"})
    assert client.get_experiment_by_name(name).tags["team"] == "a"  # type: ignore[union-attr]
    with pytest.raises(MlflowException) as info:
        client.create_experiment(name)
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_search_experiments(client: MlflowClient) -> None:
    prefix = _name("search-exp")
    ids = [client.create_experiment(f"{prefix}-{i}", tags={"index": str(i)}) for i in range(3)]
    found = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"])
    assert [e.experiment_id for e in found] == ids[::-1]
    tagged = client.search_experiments(filter_string=f"name LIKE '{prefix}-%' AND tags.index = '1'")
    assert [e.experiment_id for e in tagged] == [ids[1]]
    page = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", max_results=2, order_by=["name"])
    assert [e.experiment_id for e in page] == ids[:2]
    assert page.token
    rest = client.search_experiments(
        filter_string=f"name LIKE '{prefix}-%'", max_results=2, order_by=["name"], page_token=page.token
    )
    assert [e.experiment_id for e in rest] == ids[2:]
    assert not rest.token
    fluent = mlflow.search_experiments(filter_string=f"name = '{prefix}-0'")
    assert [e.experiment_id for e in fluent] == ids[:1]


def test_delete_experiment(client: MlflowClient) -> None:
    name = _name("delete-exp")
    experiment_id = client.create_experiment(name)
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    active = client.search_experiments(filter_string=f"name = '{name}'")
    assert list(active) == []
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}'")
    assert [e.experiment_id for e in deleted] == [experiment_id]
    with pytest.raises(MlflowException, match="deleted"):
        mlflow.set_experiment(name)
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_deleting_an_experiment_deletes_its_runs(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("delete-exp-runs"))
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_experiment(experiment_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    found = client.get_experiment_by_name(client.get_experiment(experiment_id).name)
    assert found is not None and found.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException) as info:
        client.log_param(run_id, "p", "1")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_experiment(experiment_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    client.log_param(run_id, "p", "1")


def test_rename_and_tag_experiment(client: MlflowClient) -> None:
    name = _name("rename-exp")
    experiment_id = client.create_experiment(name)
    client.rename_experiment(experiment_id, f"{name}-new")
    assert client.get_experiment(experiment_id).name == f"{name}-new"
    assert client.get_experiment_by_name(name) is None
    client.set_experiment_tag(experiment_id, "owner", "ml-team")
    mlflow.set_experiment(f"{name}-new")
    mlflow.set_experiment_tags({"stage": "dev", "priority": "1"})
    tags = client.get_experiment(experiment_id).tags
    assert {k: tags[k] for k in ("owner", "stage", "priority")} == {"owner": "ml-team", "stage": "dev", "priority": "1"}
    client.delete_experiment_tag(experiment_id, "owner")
    assert "owner" not in client.get_experiment(experiment_id).tags


def test_default_experiment(client: MlflowClient) -> None:
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert default.lifecycle_stage == "active"
    with mlflow.start_run() as run:
        mlflow.log_param("where", "default")
    assert client.get_run(run.info.run_id).info.experiment_id == "0"


# ---------------------------------------------------------------------- runs, params, metrics, tags


def test_fluent_run_logs_params_metrics_tags(client: MlflowClient) -> None:
    experiment_id = _use_experiment("fluent")
    with mlflow.start_run(run_name="first-run") as run:
        run_id = run.info.run_id
        assert run.info.run_name == "first-run"
        assert run.info.experiment_id == experiment_id
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"epochs": 3, "optimizer": "adam"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("nan_metric", float("nan"))
        mlflow.log_metric("pos_inf", float("inf"))
        mlflow.log_metric("neg_inf", float("-inf"))
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=7)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"team": "vision", "priority": 1})
        assert client.get_run(run_id).info.status == "RUNNING"

    got = client.get_run(run_id)
    assert got.info.run_id == run_id
    assert got.info.run_name == "first-run"
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time
    assert got.info.lifecycle_stage == "active"
    assert got.info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    assert got.data.params == {"lr": "0.01", "epochs": "3", "optimizer": "adam"}
    metrics = got.data.metrics
    assert metrics["loss"] == pytest.approx(0.2)
    assert math.isnan(metrics["nan_metric"])
    assert metrics["pos_inf"] == math.inf
    assert metrics["neg_inf"] == -math.inf
    assert metrics["acc"] == pytest.approx(0.9)
    assert metrics["f1"] == pytest.approx(0.8)
    tags = got.data.tags
    assert tags["stage"] == "dev"
    assert tags["team"] == "vision"
    assert tags["priority"] == "1"
    assert tags["mlflow.runName"] == "first-run"
    assert "mlflow.user" in tags
    assert "mlflow.source.name" in tags

    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert [m.value for m in history] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert all(m.timestamp > 0 for m in history)
    acc = client.get_metric_history(run_id, "acc")
    assert [(m.step, m.value) for m in acc] == [(7, pytest.approx(0.9))]
    (nan_point,) = client.get_metric_history(run_id, "nan_metric")
    assert math.isnan(nan_point.value)
    (inf_point,) = client.get_metric_history(run_id, "neg_inf")
    assert inf_point.value == -math.inf
    assert client.get_metric_history(run_id, "never-logged") == []


def test_run_without_name_gets_a_generated_one(client: MlflowClient) -> None:
    _use_experiment("noname")
    with mlflow.start_run() as run:
        pass
    got = client.get_run(run.info.run_id)
    assert got.info.run_name
    assert got.data.tags["mlflow.runName"] == got.info.run_name


def test_failed_run_is_marked_failed(client: MlflowClient) -> None:
    _use_experiment("failed")
    with pytest.raises(RuntimeError), mlflow.start_run() as run:
        raise RuntimeError("boom")
    assert client.get_run(run.info.run_id).info.status == "FAILED"


def test_resume_run_and_start_run_options(client: MlflowClient) -> None:
    experiment_id = _use_experiment("resume")
    with mlflow.start_run(run_name="parent", tags={"team": "a"}, description="the **notes**") as parent:
        mlflow.log_metric("x", 1.0, step=0)
    assert mlflow.last_active_run().info.run_id == parent.info.run_id  # type: ignore[union-attr]
    got = client.get_run(parent.info.run_id)
    assert got.data.tags["team"] == "a"
    assert got.data.tags["mlflow.note.content"] == "the **notes**"
    assert got.info.status == "FINISHED"

    with mlflow.start_run(run_id=parent.info.run_id) as resumed:
        assert client.get_run(resumed.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("x", 2.0, step=1)
        with mlflow.start_run(nested=True) as child:
            pass
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"
    assert [m.value for m in client.get_metric_history(parent.info.run_id, "x")] == [1.0, 2.0]
    assert mlflow.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id  # type: ignore[union-attr]
    assert mlflow.get_run(child.info.run_id).info.experiment_id == experiment_id


def test_async_logging(client: MlflowClient) -> None:
    _use_experiment("async")
    with mlflow.start_run() as run:
        ops = [mlflow.log_metric("a", float(i), step=i, synchronous=False) for i in range(50)]
        ops.append(mlflow.log_param("p", "v", synchronous=False))
        ops.append(mlflow.set_tag("t", "v", synchronous=False))
        for op in ops:
            op.wait()
    got = client.get_run(run.info.run_id)
    assert got.data.params == {"p": "v"}
    assert got.data.tags["t"] == "v"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "a")] == list(range(50))


def test_client_log_batch(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("batch"))
    run = client.create_run(experiment_id, run_name="batched", tags={"origin": "client"})
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), now + i, i) for i in range(10)] + [Metric("other", math.nan, now, 0)],
        params=[Param("p1", "a"), Param("p2", "b")],
        tags=[RunTag("t1", "x"), RunTag("t2", "")],
    )
    got = client.get_run(run_id)
    assert got.data.params == {"p1": "a", "p2": "b"}
    assert got.data.tags["t1"] == "x"
    assert got.data.tags["t2"] == ""
    assert got.data.tags["origin"] == "client"
    assert got.data.metrics["m"] == 9.0
    assert math.isnan(got.data.metrics["other"])
    history = client.get_metric_history(run_id, "m")
    assert [(m.step, m.value, m.timestamp) for m in history] == [(i, float(i), now + i) for i in range(10)]
    client.log_metric(run_id, "single", 3.5, timestamp=now, step=4)
    assert [(m.value, m.timestamp, m.step) for m in client.get_metric_history(run_id, "single")] == [(3.5, now, 4)]


def test_metric_history_pages(client: MlflowClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several hundred points, read back through the client's paging loop with a small page size."""
    from mlflow.tracking._tracking_service import client as tracking_client

    experiment_id = client.create_experiment(_name("history"))
    run_id = client.create_run(experiment_id).info.run_id
    total = 1250
    points = [Metric("curve", float(i) / 2, 1_000 + i, i) for i in range(total)]
    for start in range(0, total, 500):
        client.log_batch(run_id, metrics=points[start : start + 500])

    monkeypatch.setattr(tracking_client, "GET_METRIC_HISTORY_MAX_RESULTS", 300)
    history = client.get_metric_history(run_id, "curve")
    assert [m.step for m in history] == list(range(total))
    assert [m.value for m in history] == [float(i) / 2 for i in range(total)]
    assert client.get_run(run_id).data.metrics["curve"] == (total - 1) / 2

    store = client._tracking_client.store
    first = store.get_metric_history(run_id, "curve", max_results=300)
    assert len(first) == 300 and first.token
    second = store.get_metric_history(run_id, "curve", max_results=300, page_token=first.token)
    assert [m.step for m in second] == list(range(300, 600))


def test_metric_history_beyond_25000_points(client: MlflowClient) -> None:
    """The client asks for 25,000 points a page and follows next_page_token for the rest."""
    experiment_id = client.create_experiment(_name("long-history"))
    run_id = client.create_run(experiment_id).info.run_id
    total = 26_000
    for start in range(0, total, 1000):
        client.log_batch(run_id, metrics=[Metric("long", float(i), i, i) for i in range(start, start + 1000)])
    history = client.get_metric_history(run_id, "long")
    assert len(history) == total
    assert [m.step for m in history] == list(range(total))


def test_log_metrics_beyond_one_batch(client: MlflowClient) -> None:
    """The client splits more than 1000 metrics (or 100 params) into several log-batch calls."""
    _use_experiment("many-keys")
    with mlflow.start_run() as run:
        mlflow.log_metrics({f"m{i:04d}": float(i) for i in range(1500)}, step=3)
        mlflow.log_params({f"p{i:03d}": i for i in range(250)})
    data = client.get_run(run.info.run_id).data
    assert data.metrics == {f"m{i:04d}": float(i) for i in range(1500)}
    assert data.params == {f"p{i:03d}": str(i) for i in range(250)}


def test_long_and_unicode_values(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("long-values-\u00e9\u4e2d"))
    run_id = client.create_run(experiment_id, run_name="r\u00e9sum\u00e9 \U0001f680").info.run_id
    client.log_param(run_id, "long", "x" * 6000)
    client.set_tag(run_id, "long", "y" * 8000)
    client.log_param(run_id, "unicode", "\u00e9t\u00e9 \u4e2d\u6587 \U0001f680")
    got = client.get_run(run_id)
    assert got.info.run_name == "r\u00e9sum\u00e9 \U0001f680"
    assert got.data.params["long"] == "x" * 6000
    assert got.data.tags["long"] == "y" * 8000
    assert got.data.params["unicode"] == "\u00e9t\u00e9 \u4e2d\u6587 \U0001f680"


def test_key_characters_and_extreme_values(client: MlflowClient) -> None:
    """Keys with the characters MLflow allows (``/ . - _ : space``), big steps, extreme doubles."""
    experiment_id = client.create_experiment(_name("keys"))
    run_id = client.create_run(experiment_id).info.run_id
    key = "train/loss.v-1_a: b"
    client.log_metric(run_id, key, 1e308, timestamp=2**41, step=2**40)
    client.log_metric(run_id, key, 5e-324, timestamp=2**41 + 1, step=2**40 + 1)
    client.log_metric(run_id, "neg/step", -1.5, step=-3)
    client.log_param(run_id, key, "")
    client.set_tag(run_id, key, "tag value")
    got = client.get_run(run_id)
    assert got.data.metrics[key] == 5e-324
    assert got.data.params[key] == ""
    assert got.data.tags[key] == "tag value"
    history = client.get_metric_history(run_id, key)
    assert [(m.value, m.timestamp, m.step) for m in history] == [
        (1e308, 2**41, 2**40),
        (5e-324, 2**41 + 1, 2**40 + 1),
    ]
    assert [(m.value, m.step) for m in client.get_metric_history(run_id, "neg/step")] == [(-1.5, -3)]
    found = client.search_runs([experiment_id], filter_string=f"metrics.`{key}` > 0 AND params.`{key}` = ''")
    assert [r.info.run_id for r in found] == [run_id]


def test_set_terminated(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("terminate"))
    run_id = client.create_run(experiment_id).info.run_id
    assert client.get_run(run_id).info.status == "RUNNING"
    client.set_terminated(run_id, status="KILLED", end_time=1_700_000_000_000)
    info = client.get_run(run_id).info
    assert info.status == RunStatus.to_string(RunStatus.KILLED)
    assert info.end_time == 1_700_000_000_000
    client.set_terminated(run_id)
    assert client.get_run(run_id).info.status == "FINISHED"


def test_update_run_name(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("rename-run"))
    run_id = client.create_run(experiment_id, run_name="before").info.run_id
    client.update_run(run_id, name="after")
    got = client.get_run(run_id)
    assert got.info.run_name == "after"
    assert got.data.tags["mlflow.runName"] == "after"


def test_delete_and_restore_run(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("delete-run"))
    keep = client.create_run(experiment_id).info.run_id
    gone = client.create_run(experiment_id).info.run_id
    client.delete_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    active = client.search_runs([experiment_id])
    assert [r.info.run_id for r in active] == [keep]
    deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [gone]
    every = client.search_runs([experiment_id], run_view_type=ViewType.ALL)
    assert {r.info.run_id for r in every} == {keep, gone}
    client.restore_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "active"
    assert {r.info.run_id for r in client.search_runs([experiment_id])} == {keep, gone}


def test_nested_runs(client: MlflowClient) -> None:
    experiment_id = _use_experiment("nested")
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_param("depth", 1)
        assert mlflow.active_run().info.run_id == parent.info.run_id  # type: ignore[union-attr]
    got = client.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert "mlflow.parentRunId" not in client.get_run(parent.info.run_id).data.tags
    children = client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert [r.info.run_id for r in children] == [child.info.run_id]


def test_delete_tag(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("delete-tag"))
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "temp", "1")
    client.delete_tag(run_id, "temp")
    assert "temp" not in client.get_run(run_id).data.tags


def test_delete_missing_tag_is_resource_does_not_exist(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("delete-missing-tag"))
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(MlflowException) as info:
        client.delete_tag(run_id, "never-set")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_delete_missing_experiment_tag_is_resource_does_not_exist(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("delete-missing-exp-tag"))
    with pytest.raises(MlflowException) as info:
        client.delete_experiment_tag(experiment_id, "never-set")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_setting_the_run_name_tag_renames_the_run(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("name-tag"))
    run_id = client.create_run(experiment_id, run_name="before").info.run_id
    client.set_tag(run_id, "mlflow.runName", "by-set-tag")
    assert client.get_run(run_id).info.run_name == "by-set-tag"
    client.log_batch(run_id, tags=[RunTag("mlflow.runName", "by-log-batch")])
    got = client.get_run(run_id)
    assert got.info.run_name == "by-log-batch"
    assert got.data.tags["mlflow.runName"] == "by-log-batch"


# ---------------------------------------------------------------------- search


def test_search_runs(client: MlflowClient) -> None:
    experiment_id = _use_experiment("search-runs")
    run_ids = []
    for i, (lr, acc) in enumerate([(0.1, 0.70), (0.01, 0.90), (0.001, 0.80)]):
        with mlflow.start_run(run_name=f"run-{i}") as run:
            mlflow.log_param("lr", lr)
            mlflow.log_metric("acc", acc)
            mlflow.set_tag("kind", "even" if i % 2 == 0 else "odd")
            run_ids.append(run.info.run_id)

    df = mlflow.search_runs(experiment_ids=[experiment_id], order_by=["metrics.acc DESC"])
    assert isinstance(df, pd.DataFrame)
    assert list(df["run_id"]) == [run_ids[1], run_ids[2], run_ids[0]]
    assert list(df["metrics.acc"]) == pytest.approx([0.9, 0.8, 0.7])
    assert list(df["params.lr"]) == ["0.01", "0.001", "0.1"]
    assert list(df["tags.mlflow.runName"]) == ["run-1", "run-2", "run-0"]
    assert set(df["status"]) == {"FINISHED"}
    assert list(df["experiment_id"]) == [experiment_id] * 3

    filtered = mlflow.search_runs(
        experiment_ids=[experiment_id], filter_string="metrics.acc > 0.75 AND tags.kind = 'even'"
    )
    assert list(filtered["run_id"]) == [run_ids[2]]
    by_param = mlflow.search_runs(
        experiment_ids=[experiment_id], filter_string="params.lr = '0.1'", output_format="list"
    )
    assert [r.info.run_id for r in by_param] == [run_ids[0]]
    by_name = mlflow.search_runs(
        experiment_names=[client.get_experiment(experiment_id).name],
        filter_string="attributes.run_name = 'run-1'",
    )
    assert list(by_name["run_id"]) == [run_ids[1]]
    empty = mlflow.search_runs(experiment_ids=[experiment_id], filter_string="metrics.acc > 5")
    assert len(empty) == 0

    page = client.search_runs([experiment_id], order_by=["params.lr ASC"], max_results=2)
    assert [r.info.run_id for r in page] == [run_ids[2], run_ids[1]]
    assert page.token
    rest = client.search_runs([experiment_id], order_by=["params.lr ASC"], max_results=2, page_token=page.token)
    assert [r.info.run_id for r in rest] == [run_ids[0]]
    assert not rest.token
    by_start = client.search_runs([experiment_id], order_by=["attributes.start_time ASC"])
    assert [r.info.run_id for r in by_start] == run_ids


def test_search_runs_across_all_experiments(client: MlflowClient) -> None:
    marker = uuid.uuid4().hex
    run_ids = set()
    for i in range(2):
        experiment_id = client.create_experiment(_name(f"all-{i}"))
        run = client.create_run(experiment_id, tags={"marker": marker})
        run_ids.add(run.info.run_id)
    found = mlflow.search_runs(search_all_experiments=True, filter_string=f"tags.marker = '{marker}'")
    assert set(found["run_id"]) == run_ids
    assert len(found["experiment_id"].unique()) == 2


def test_search_runs_filters(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("search-filters"))
    ids = []
    for i, model in enumerate(["LinearModel", "linear-svm", "Forest"]):
        run = client.create_run(experiment_id, run_name=f"r{i}", start_time=1_000 + i)
        client.log_param(run.info.run_id, "model", model)
        ids.append(run.info.run_id)
    client.set_terminated(ids[0])

    def search(filter_string: str) -> list[str]:
        return [r.info.run_id for r in client.search_runs([experiment_id], filter_string, order_by=["start_time"])]

    assert search("attributes.status = 'FINISHED'") == ids[:1]
    assert search("status != 'FINISHED'") == ids[1:]
    assert search(f"attributes.run_id IN ('{ids[0]}', '{ids[2]}')") == [ids[0], ids[2]]
    assert search("params.model LIKE 'Linear%'") == ids[:1]
    assert search("params.model ILIKE 'linear%'") == ids[:2]
    assert search("attributes.start_time >= 1001") == ids[1:]
    assert search("run_name = 'r2'") == ids[2:]
    assert search("tags.mlflow.runName != 'r2' AND params.model != 'Forest'") == ids[:2]


def test_search_runs_order_puts_nan_then_missing_last(client: MlflowClient) -> None:
    """As MLflow's SQL store: finite values sorted, then NaN, then runs without the metric, either way."""
    experiment_id = client.create_experiment(_name("order-nan"))
    values = {"low": 0.5, "nan": math.nan, "missing": None, "high": 0.9}
    ids = {}
    for i, (label, value) in enumerate(values.items()):
        run_id = client.create_run(experiment_id, start_time=1_000 + i).info.run_id
        if value is not None:
            client.log_metric(run_id, "acc", value)
        ids[label] = run_id

    def order(*order_by: str) -> list[str]:
        runs = client.search_runs([experiment_id], order_by=list(order_by))
        label_of = {v: k for k, v in ids.items()}
        return [label_of[r.info.run_id] for r in runs]

    assert order("metrics.acc DESC") == ["high", "low", "nan", "missing"]
    assert order("metrics.acc ASC") == ["low", "high", "nan", "missing"]
    assert order() == ["high", "missing", "nan", "low"]  # default: start_time DESC


def test_search_runs_with_bad_filter_is_invalid_parameter(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("bad-filter"))
    with pytest.raises(MlflowException) as info:
        client.search_runs([experiment_id], filter_string="metrics.acc >>> 1")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as order_info:
        client.search_runs([experiment_id], order_by=["metrics.acc SIDEWAYS"])
    assert order_info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as exp_info:
        client.search_experiments(filter_string="name <> 'x' OR")
    assert exp_info.value.error_code == "INVALID_PARAMETER_VALUE"


# ---------------------------------------------------------------------- artifacts


def test_artifacts_through_the_proxy(client: MlflowClient, server: Server, tmp_path: Path) -> None:
    experiment_id = _use_experiment("artifacts")
    local = tmp_path / "local"
    (local / "tree" / "sub").mkdir(parents=True)
    (local / "notes.txt").write_text("hello artifacts")
    (local / "tree" / "a.csv").write_text("x,y\n1,2\n")
    (local / "tree" / "sub" / "b.bin").write_bytes(bytes(range(256)) * 8)

    with mlflow.start_run() as run:
        run_id = run.info.run_id
        mlflow.log_dict({"alpha": 1, "beta": [1, 2]}, "config/params.json")
        mlflow.log_text("some text\n", "text/readme.txt")
        mlflow.log_artifact(str(local / "notes.txt"))
        mlflow.log_artifact(str(local / "notes.txt"), artifact_path="copies")
        mlflow.log_artifacts(str(local / "tree"), artifact_path="tree")

    on_disk = server.artifacts / experiment_id / run_id / "artifacts"
    assert json.loads((on_disk / "config" / "params.json").read_text()) == {"alpha": 1, "beta": [1, 2]}
    assert (on_disk / "text" / "readme.txt").read_text() == "some text\n"
    assert (on_disk / "notes.txt").read_text() == "hello artifacts"
    assert (on_disk / "copies" / "notes.txt").read_text() == "hello artifacts"
    assert (on_disk / "tree" / "a.csv").read_text() == "x,y\n1,2\n"
    assert (on_disk / "tree" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 8

    top = client.list_artifacts(run_id)
    assert {(f.path, f.is_dir) for f in top} == {
        ("config", True),
        ("text", True),
        ("notes.txt", False),
        ("copies", True),
        ("tree", True),
    }
    assert next(f for f in top if f.path == "notes.txt").file_size == len("hello artifacts")
    assert [f.path for f in mlflow.artifacts.list_artifacts(artifact_uri=f"runs:/{run_id}/config")] == [
        "config/params.json"
    ]

    dest = tmp_path / "download"
    dest.mkdir()
    downloaded = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="tree", dst_path=str(dest))
    assert Path(downloaded) == dest / "tree"
    assert (dest / "tree" / "a.csv").read_text() == "x,y\n1,2\n"
    assert (dest / "tree" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 8
    one = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes.txt", dst_path=str(dest / "one"))
    assert Path(one).read_text() == "hello artifacts"
    everything = Path(client.download_artifacts(run_id, "", dst_path=str(dest / "all")))
    assert sorted(p.relative_to(everything).as_posix() for p in everything.rglob("*") if p.is_file()) == [
        "config/params.json",
        "copies/notes.txt",
        "notes.txt",
        "text/readme.txt",
        "tree/a.csv",
        "tree/sub/b.bin",
    ]
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config/params.json") == {"alpha": 1, "beta": [1, 2]}
    assert mlflow.artifacts.load_text(f"{client.get_run(run_id).info.artifact_uri}/text/readme.txt") == "some text\n"


def test_list_artifacts_under_a_path(client: MlflowClient, tmp_path: Path) -> None:
    _use_experiment("list-sub")
    local = tmp_path / "tree"
    (local / "sub").mkdir(parents=True)
    (local / "a.csv").write_text("x,y\n1,2\n")
    (local / "sub" / "b.bin").write_bytes(bytes(range(256)) * 8)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(local), artifact_path="tree")
        mlflow.log_dict({"alpha": 1}, "config/params.json")
    run_id = run.info.run_id
    # MLflow 3's client also asks logged-models/search for a model named like the path's first folder
    tree = client.list_artifacts(run_id, "tree")
    assert {(f.path, f.is_dir) for f in tree} == {("tree/a.csv", False), ("tree/sub", True)}
    sub = client.list_artifacts(run_id, "tree/sub")
    assert [(f.path, f.file_size) for f in sub] == [("tree/sub/b.bin", 2048)]
    assert client.list_artifacts(run_id, "tree/a.csv") == []
    assert client.list_artifacts(run_id, "does-not-exist") == []
    assert [f.path for f in mlflow.artifacts.list_artifacts(run_id=run_id, artifact_path="config")] == [
        "config/params.json"
    ]


def test_artifact_names_sizes_and_missing_paths(client: MlflowClient, server: Server, tmp_path: Path) -> None:
    experiment_id = _use_experiment("artifact-edges")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # more than one 1 MiB chunk each way
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        assert client.list_artifacts(run_id) == []
        # no '#' or '?': MLflow's client puts artifact paths into URLs unquoted
        mlflow.log_text("spaced", "dir with space/\u00fcber file (1)+x.txt")
        mlflow.log_artifact(str(big), artifact_path="blobs")
        mlflow.log_artifact(str(empty))
    on_disk = server.artifacts / experiment_id / run_id / "artifacts"
    assert (on_disk / "dir with space" / "\u00fcber file (1)+x.txt").read_text() == "spaced"
    assert (on_disk / "blobs" / "big.bin").read_bytes() == big.read_bytes()
    assert (on_disk / "empty.txt").read_bytes() == b""

    sizes = {f.path: f.file_size for f in client.list_artifacts(run_id)}
    assert sizes == {"dir with space": None, "blobs": None, "empty.txt": 0}
    dest = tmp_path / "dl"
    dest.mkdir()
    got = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="blobs/big.bin", dst_path=str(dest))
    assert Path(got).read_bytes() == big.read_bytes()
    text = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="dir with space/\u00fcber file (1)+x.txt", dst_path=str(dest)
    )
    assert Path(text).read_text() == "spaced"
    with pytest.raises(MlflowException):
        mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="nope.txt", dst_path=str(dest))


def test_log_table(client: MlflowClient) -> None:
    _use_experiment("table")
    with mlflow.start_run() as run:
        mlflow.log_table({"a": [1, 2], "b": ["x", "y"]}, artifact_file="tables/t.json")
        mlflow.log_table({"a": [3], "b": ["z"]}, artifact_file="tables/t.json")  # appends: downloads, re-uploads
    got = client.get_run(run.info.run_id)
    logged = json.loads(got.data.tags["mlflow.loggedArtifacts"])
    assert logged == [{"path": "tables/t.json", "type": "table"}]
    table = mlflow.load_table("tables/t.json", run_ids=[run.info.run_id])
    assert list(table["a"]) == [1, 2, 3]
    assert list(table["b"]) == ["x", "y", "z"]


def test_run_artifact_listing_endpoint(client: MlflowClient, server: Server) -> None:
    """``/mlflow/artifacts/list`` (what MLflow's UI calls): paths relative to the run's root."""
    experiment_id = _use_experiment("artifact-list")
    with mlflow.start_run() as run:
        mlflow.log_text("x", "dir/file.txt")
    response = requests.get(
        f"{server.url}/api/2.0/mlflow/artifacts/list", params={"run_id": run.info.run_id, "path": "dir"}, timeout=10
    )
    assert response.status_code == 200
    body = response.json()
    assert body["root_uri"] == f"mlflow-artifacts:/{experiment_id}/{run.info.run_id}/artifacts"
    assert body["files"] == [{"path": "dir/file.txt", "is_dir": False, "file_size": 1}]


# ---------------------------------------------------------------------- datasets


def test_log_input_dataset(client: MlflowClient) -> None:
    _use_experiment("datasets")
    # float columns: an integer one makes mlflow warn while inferring the schema (an error under pytest)
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.0, 1.0, 0.0]})
    dataset = mlflow.data.from_pandas(df, name="train-set", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    logged = inputs[0].dataset
    sent = dataset.to_dict()
    assert sent["schema"] and sent["profile"]
    assert logged.name == "train-set"
    assert logged.digest == dataset.digest == sent["digest"]
    assert logged.source_type == sent["source_type"]
    assert json.loads(logged.source) == json.loads(sent["source"])
    assert json.loads(logged.schema) == json.loads(sent["schema"])
    assert json.loads(logged.profile) == json.loads(sent["profile"])
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"
    loaded = mlflow.data.get_source(inputs[0])
    assert loaded.to_dict() == dataset.source.to_dict()


def test_metrics_linked_to_a_model_and_a_dataset(client: MlflowClient) -> None:
    """MLflow 3 sends ``model_id``, ``dataset_name`` and ``dataset_digest`` with a metric, by log-metric
    (one value) and by log-batch (several); the logged model's metrics keep them (as MLflow's SQL store
    does; the run's own history stays key/value/timestamp/step)."""
    experiment_id = _use_experiment("linked-metrics")
    dataset = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="eval-set")
    model = client.create_logged_model(experiment_id, name="linked")
    with mlflow.start_run() as run:
        mlflow.log_metric("single", 0.5, step=1, model_id=model.model_id, dataset=dataset)
        mlflow.log_metrics({"batched": 0.7}, step=2, model_id=model.model_id, dataset=dataset)
    for key, value, step in (("single", 0.5, 1), ("batched", 0.7, 2)):
        (point,) = client.get_metric_history(run.info.run_id, key)
        assert (point.value, point.step) == (value, step)
    model_metrics = {m.key: m for m in client.get_logged_model(model.model_id).metrics}
    assert set(model_metrics) == {"single", "batched"}
    for key, value, step in (("single", 0.5, 1), ("batched", 0.7, 2)):
        metric = model_metrics[key]
        assert (metric.value, metric.step) == (value, step)
        assert metric.model_id == model.model_id
        assert metric.run_id == run.info.run_id
        assert metric.dataset_name == "eval-set"
        assert metric.dataset_digest == dataset.digest


def test_log_input_model(client: MlflowClient) -> None:
    """MLflow 3 records a logged model as a run input (``log-inputs`` with ``models``)."""
    from mlflow.entities import LoggedModelInput

    experiment_id = _use_experiment("model-input")
    model = client.create_logged_model(experiment_id, name="upstream")
    with mlflow.start_run() as run:
        mlflow.log_input(model=LoggedModelInput(model.model_id))
    inputs = client.get_run(run.info.run_id).inputs
    assert [m.model_id for m in inputs.model_inputs] == [model.model_id]
    assert inputs.dataset_inputs == []


# ---------------------------------------------------------------------- errors and routing


def test_log_param_twice_with_a_new_value_is_invalid_parameter(client: MlflowClient) -> None:
    _use_experiment("param-twice")
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
        mlflow.log_param("p", "1")  # the same value again is fine
        with pytest.raises(MlflowException) as info:
            mlflow.log_param("p", "2")
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
        with pytest.raises(MlflowException) as batch_info:
            mlflow.log_params({"p": "3"})
        assert batch_info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run.info.run_id).data.params == {"p": "1"}


def test_get_run_unknown_is_resource_does_not_exist(client: MlflowClient) -> None:
    with pytest.raises(MlflowException) as info:
        client.get_run(uuid.uuid4().hex)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as exp_info:
        client.get_experiment("987654321")
    assert exp_info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_writing_to_a_deleted_run_is_invalid_parameter(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(_name("deleted-run"))
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)
    for write in (
        lambda: client.log_param(run_id, "p", "1"),
        lambda: client.log_metric(run_id, "m", 1.0),
        lambda: client.set_tag(run_id, "t", "v"),
        lambda: client.set_terminated(run_id),
    ):
        with pytest.raises(MlflowException) as info:
            write()
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_metric_history_of_unknown_run_is_resource_does_not_exist(client: MlflowClient) -> None:
    with pytest.raises(MlflowException) as info:
        client.get_metric_history(uuid.uuid4().hex, "loss")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_create_run_in_unknown_experiment_is_resource_does_not_exist(client: MlflowClient) -> None:
    with pytest.raises(MlflowException) as info:
        client.create_run("987654321")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_duplicate_param_keys_in_one_batch_are_invalid_parameter(client: MlflowClient, server: Server) -> None:
    experiment_id = client.create_experiment(_name("dup-batch"))
    run_id = client.create_run(experiment_id).info.run_id
    response = requests.post(
        f"{server.url}/api/2.0/mlflow/runs/log-batch",
        json={"run_id": run_id, "params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {}


def test_request_errors_are_400_invalid_parameter(client: MlflowClient, server: Server) -> None:
    experiment_id = client.create_experiment(_name("bad-requests"))
    url = f"{server.url}/api/2.0/mlflow"
    cases = [
        requests.post(f"{url}/experiments/create", json={}, timeout=10),
        requests.post(f"{url}/runs/create", json={"experiment_id": experiment_id, "start_time": "soon"}, timeout=10),
        requests.post(f"{url}/runs/log-metric", json={"run_id": "x", "key": "m"}, timeout=10),
        requests.get(f"{url}/experiments/get", timeout=10),
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE", response.text
    # A body that is not JSON is what a page of another site can send: refused before anything runs.
    text = {"Content-Type": "text/plain"}
    plain = requests.post(f"{url}/experiments/create", data="name=x", headers=text, timeout=10)
    assert plain.status_code == 415 and plain.json()["error_code"] == "BAD_REQUEST", plain.text


def test_unknown_endpoint_is_a_plain_404(server: Server) -> None:
    response = requests.get(f"{server.url}/api/2.0/mlflow/no-such-thing", timeout=10)
    assert response.status_code == 404
    assert "error_code" not in response.text
    post = requests.post(f"{server.url}/api/2.0/mlflow/runs/no-such-thing", json={}, timeout=10)
    assert post.status_code == 404
    assert "error_code" not in post.text


def test_unknown_endpoint_through_the_client_is_endpoint_not_found(client: MlflowClient, server: Server) -> None:
    from mlflow.protos.service_pb2 import GetRun
    from mlflow.utils.rest_utils import MlflowHostCreds, call_endpoint

    with pytest.raises(MlflowException) as info:
        call_endpoint(MlflowHostCreds(server.url), "/api/2.0/mlflow/no-such-thing", "GET", None, GetRun.Response())
    assert info.value.error_code == "ENDPOINT_NOT_FOUND"


def test_ajax_api_answers_like_api(client: MlflowClient, server: Server) -> None:
    name = _name("ajax")
    experiment_id = client.create_experiment(name)
    api = requests.get(
        f"{server.url}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name}, timeout=10
    )
    ajax = requests.get(
        f"{server.url}/ajax-api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name}, timeout=10
    )
    assert api.status_code == ajax.status_code == 200
    assert ajax.json() == api.json()
    assert ajax.json()["experiment"]["experiment_id"] == experiment_id
    missing = requests.get(
        f"{server.url}/ajax-api/2.0/mlflow/runs/get", params={"run_id": uuid.uuid4().hex}, timeout=10
    )
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_health_and_version(server: Server) -> None:
    health = requests.get(f"{server.url}/health", timeout=10)
    assert health.status_code == 200
    assert health.text == "OK"
    version = requests.get(f"{server.url}/version", timeout=10)
    assert version.status_code == 200
    # MLflow's clients gate features on the server's version: the MLflow API level Dockyard implements.
    assert tuple(int(x) for x in version.text.split(".")[:2]) >= (3, 4)
    from dockyard.__about__ import __version__

    assert version.headers["x-dockyard-version"] == __version__
    ours = requests.get(f"{server.url}/api/2.0/dockyard/version", timeout=10).json()
    assert ours == {"version": __version__, "mlflow_api_version": version.text}
