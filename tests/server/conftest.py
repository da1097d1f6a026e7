"""Fixtures shared by the tests that drive a real ``dockyard server`` with the official ``mlflow`` client:
one server per test module, and MLflow's fluent API and client pointed at it (failing fast, never
phoning home), with MLflow's process-wide state put back afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from server.dockyard_process import Server, dockyard_server

# Importing mlflow starts its usage telemetry unless this is set first: no traffic leaves the machine.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A ``dockyard server`` subprocess on a free port, one per test module."""
    with dockyard_server(tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])) as running:
        yield running


@pytest.fixture
def mlflow_env(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """MLflow's environment and fluent state pointed at ``server`` (tracking and registry)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        # mlflow.set_experiment writes these into os.environ, where they would outlive the test.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    try:
        yield server
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.tracking.fluent._active_experiment_id = None  # set_experiment's choice, kept in a global
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]


@pytest.fixture
def client(mlflow_env: Server) -> Any:
    """The official ``MlflowClient`` for ``server`` (tracking and registry)."""
    from mlflow import MlflowClient

    return MlflowClient(mlflow_env.url, registry_uri=mlflow_env.url)
