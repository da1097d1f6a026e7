"""The official ``mlflow`` client's high-level calls that use the endpoints of issue 12, driven the same
way against ``mlflow server`` and ``dockyard server``, with the same outcome expected from both.

MLflow's Python client has no call for ``get-history-bulk`` or ``experiments/search-datasets`` (its web
UI calls them): the metric and dataset checks below compare what the client reads (``get_metric_history``
per run, a run's dataset inputs) with what those endpoints answer on the same server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat.conftest import MlflowServer

from server.dockyard_process import Server

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"  # before mlflow is imported: no traffic leaves the machine


@pytest.fixture(params=["mlflow", "dockyard"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of one of the two servers, with MLflow's client pointed at it (failing fast)."""
    import mlflow

    server: MlflowServer | Server = request.getfixturevalue(
        "mlflow_server" if request.param == "mlflow" else "dockyard"
    )
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    try:
        yield server.url
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]


def _client(url: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(url, registry_uri=url)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_download_artifacts_of_a_model_version(target: str, tmp_path: Path) -> None:
    import mlflow

    client = _client(target)
    run = client.create_run(client.create_experiment(f"dl-{uuid.uuid4().hex[:8]}"))
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "sub" / "weights.bin").write_bytes(b"\x00\x01\x02")
    client.log_artifacts(run.info.run_id, str(model), "model")
    name = f"dl-model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)

    by_uri = Path(
        mlflow.artifacts.download_artifacts(f"models:/{name}/{version.version}", dst_path=str(tmp_path / "a"))
    )
    by_run = Path(client.download_artifacts(run.info.run_id, "model", str(tmp_path / "b")))
    expected = {"MLmodel": b"flavors: {}\n", "sub/weights.bin": b"\x00\x01\x02"}
    assert _files(by_uri) == expected
    assert _files(by_run) == expected


def test_metric_histories_of_many_runs_agree_with_the_bulk_endpoint(target: str) -> None:
    import httpx2

    client = _client(target)
    experiment = client.create_experiment(f"bulk-{uuid.uuid4().hex[:8]}")
    runs = [client.create_run(experiment).info.run_id for _ in range(3)]
    for i, run_id in enumerate(runs):
        for step in range(5):
            client.log_metric(run_id, "loss", i * 10.0 + step, timestamp=1000 + step, step=step)
    read = {r: [(m.step, m.value) for m in client.get_metric_history(r, "loss")] for r in runs}
    assert all(len(points) == 5 for points in read.values())
    bulk = httpx2.get(
        f"{target}/ajax-api/2.0/mlflow/metrics/get-history-bulk",
        params={"run_id": runs, "metric_key": "loss"},
        timeout=30,
    ).json()["metrics"]
    by_run: dict[str, list[tuple[int, float]]] = {}
    for m in bulk:
        by_run.setdefault(m["run_id"], []).append((m["step"], m["value"]))
    assert by_run == read
    assert [m["run_id"] for m in bulk] == sorted(m["run_id"] for m in bulk)


def test_dataset_inputs_appear_in_the_dataset_search(target: str) -> None:
    import httpx2
    from mlflow.entities import Dataset, DatasetInput, InputTag

    client = _client(target)
    experiment = client.create_experiment(f"ds-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment).info.run_id
    inputs = [
        DatasetInput(Dataset(name, digest, "local", "{}"), [InputTag("mlflow.data.context", context)])
        for name, digest, context in (("train", "abc", "training"), ("holdout", "def", "evaluation"))
    ]
    client.log_inputs(run_id, datasets=inputs)
    logged = {(i.dataset.name, i.dataset.digest) for i in client.get_run(run_id).inputs.dataset_inputs}
    assert logged == {("train", "abc"), ("holdout", "def")}
    answer = httpx2.post(
        f"{target}/ajax-api/2.0/mlflow/experiments/search-datasets", json={"experiment_ids": [experiment]}, timeout=30
    ).json()
    assert sorted((s["name"], s["digest"], s["context"], s["experiment_id"]) for s in answer["dataset_summaries"]) == [
        ("holdout", "def", "evaluation", experiment),
        ("train", "abc", "training", experiment),
    ]


def test_a_logged_model_lists_its_registered_versions(target: str) -> None:
    """``create_model_version`` with a ``model_id``: the server records the version on the logged model."""
    import json

    client = _client(target)
    experiment = client.create_experiment(f"lm-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment).info.run_id
    model = client.create_logged_model(experiment, name="m", source_run_id=run_id)
    name = f"lm-model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    version = client.create_model_version(name, f"models:/{model.model_id}", run_id=run_id, model_id=model.model_id)
    tag = client.get_logged_model(model.model_id).tags.get("mlflow.modelVersions")
    assert json.loads(tag) == [{"name": name, "version": int(version.version)}]
