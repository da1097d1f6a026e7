"""Models through a real ``dockyard server``: Dockyard's client and MLflow's, each loading the other's.

The model files travel through the server's artifact proxy (``mlflow-artifacts:/``), so loading needs a
download; the second load of the same model must come from the cache.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import httpx2
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

with warnings.catch_warnings():  # mlflow's flavors warn about their own type hints on import
    warnings.simplefilter("ignore")
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn

import dockyard
import dockyard.sklearn
from dockyard.models import load_model

from server.dockyard_process import Server

pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning:mlflow")

X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0]})
MODEL = LinearRegression().fit(X, [1.0, 2.0, 3.5])


@pytest.fixture
def remote(mlflow_env: Server) -> Server:
    """MLflow (see conftest.mlflow_env) and Dockyard's fluent API both pointed at the server."""
    dockyard.set_tracking_uri(mlflow_env.url)
    return mlflow_env


def test_dockyard_model_through_the_server(remote: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    with dockyard.start_run() as run:
        info = dockyard.sklearn.log_model(MODEL, name="model", input_example=X, registered_model_name="remote-churn")
    assert info.artifact_path is not None and info.artifact_path.startswith("mlflow-artifacts:/")

    # The logged model is what the server's MLflow 3 endpoints say it is.
    got = httpx2.get(f"{remote.url}/api/2.0/mlflow/logged-models/{info.model_id}").json()["model"]
    assert got["info"]["status"] == "LOGGED_MODEL_READY" and got["info"]["source_run_id"] == run.info.run_id
    assert (remote.artifacts / "0" / "models" / str(info.model_id) / "artifacts" / "MLmodel").is_file()

    from dockyard.artifacts.http import HttpArtifactStore

    downloads = []
    original = HttpArtifactStore.download

    def counting(self: HttpArtifactStore, path: str, dst_dir: object) -> str:
        downloads.append(path)
        return original(self, path, dst_dir)  # type: ignore[arg-type]

    monkeypatch.setattr(HttpArtifactStore, "download", counting)
    first = load_model(info.model_uri)
    second = load_model(f"runs:/{run.info.run_id}/model")
    third = load_model("models:/remote-churn/1")
    assert first.path == second.path == third.path  # one cache entry, keyed by content
    assert len(downloads) == 1
    np.testing.assert_allclose(third.predict(X), MODEL.predict(X))

    # The official client loads the same model from the same server.
    theirs = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(theirs.predict(X), MODEL.predict(X))
    assert type(mlflow.sklearn.load_model("models:/remote-churn/1")) is LinearRegression


def test_mlflow_model_through_the_server(remote: Server) -> None:
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(MODEL, name="model", input_example=X, pip_requirements=["scikit-learn"])
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/model"):
        predictor = load_model(uri)
        assert predictor.model_id == info.model_id
        np.testing.assert_allclose(predictor.predict(X), MODEL.predict(X))


def test_missing_remote_model_is_named(remote: Server, tmp_path: Path) -> None:
    with dockyard.start_run() as run:
        dockyard.log_text("not a model", "notes/readme.txt")
    from dockyard.core.errors import InvalidModel

    with pytest.raises(InvalidModel, match="missing file MLmodel"):
        load_model(f"runs:/{run.info.run_id}/notes")


@pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning")  # deprecated, still used
def test_official_client_registers_and_loads_by_alias_and_stage(remote: Server) -> None:
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            MODEL, name="model", pip_requirements=["scikit-learn"], registered_model_name="mlflow-registered"
        )
    client = mlflow.MlflowClient(remote.url)
    client.set_registered_model_alias("mlflow-registered", "champion", "1")
    client.transition_model_version_stage("mlflow-registered", "1", "Production")
    for uri in (
        "models:/mlflow-registered@champion",
        "models:/mlflow-registered/1",
        "models:/mlflow-registered/Production",
    ):
        np.testing.assert_allclose(mlflow.pyfunc.load_model(uri).predict(X), MODEL.predict(X))
        assert load_model(uri).model_id == info.model_id

    # Dockyard's own client, over HTTP, sees and moves the same alias.
    ours = dockyard.Client(remote.url)
    assert ours.get_model_version_by_alias("mlflow-registered", "champion").model_id == info.model_id
    with dockyard.start_run():
        dockyard.sklearn.log_model(
            LinearRegression().fit(X, [0.0, 1.0, 0.0]), name="m", registered_model_name="mlflow-registered"
        )
    ours.set_registered_model_alias("mlflow-registered", "champion", 2)
    assert client.get_model_version_by_alias("mlflow-registered", "champion").version == "2"
