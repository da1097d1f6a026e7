"""The scoring app in process (starlette's TestClient): timeouts, swaps, models of other shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

import dockyard.models
from dockyard.serving import ServedModel, ServingOptions, create_scoring_app
from dockyard.serving.model import AliasFollower

COLUMNS = ["a", "b", "c"]


def test_timeout_is_504_and_the_next_request_is_served(scaler_model: Path) -> None:
    app = create_scoring_app(dockyard.models.load_model(scaler_model, allow_pickle=True), ServingOptions(timeout=0.2))
    with TestClient(app) as client:
        slow = client.post("/invocations", json={"inputs": {"x": [1.0], "k": [0]}, "params": {"sleep": 1.0}})
        assert slow.status_code == 504
        assert slow.json()["error_code"] == "DEADLINE_EXCEEDED"
        assert "0.2 s" in slow.json()["message"]
        # The slow call still holds the predict thread until its sleep ends; then requests are served again.
        statuses = []
        for _ in range(100):
            fine = client.post("/invocations", json={"inputs": {"x": [1.0], "k": [0]}})
            statuses.append(fine.status_code)
            if fine.status_code == 200:
                break
        assert set(statuses[:-1]) <= {504} and statuses[-1] == 200
        assert fine.json() == {"predictions": [2.0]}
        assert 'error="PredictionTimeout",status="504"' in client.get("/metrics").text


def test_classifier_formats_and_version(classifier_model: Path) -> None:
    app = create_scoring_app(ServedModel(dockyard.models.load_model(classifier_model), "models:/churn/3", "churn", "3"))
    with TestClient(app) as client:
        split = {"dataframe_split": {"columns": COLUMNS, "data": [[3.0, 3.0, 0.0], [-3.0, -3.0, 0.0]]}}
        assert client.post("/invocations", json=split).json() == {"predictions": [1, 0]}
        assert client.post("/invocations", json={"instances": [[3.0, 3.0, 0.0]]}).json() == {"predictions": [1]}
        csv = client.post("/invocations", content=b"c,b,a\n0,3,3\n", headers={"content-type": "text/csv"})
        assert csv.json() == {"predictions": [1]}  # columns are taken by name, integers widen to double
        version = client.get("/version").json()
        assert (version["model_name"], version["model_version"], version["model_uri"]) == (
            "churn",
            "3",
            "models:/churn/3",
        )
        assert client.get("/v2/models/churn").json()["versions"] == ["3"]
        answer = client.post(
            "/v2/models/churn/infer",
            json={"inputs": [{"name": "all", "shape": [1, 3], "datatype": "FP64", "data": [3, 3, 0]}]},
        )
        assert answer.json()["outputs"][0]["data"] == [1] and answer.json()["model_version"] == "3"
        assert answer.headers["x-dockyard-model-version"] == "3"


class Stub:
    """A predictor without a signature: returns a DataFrame with the version it was built for."""

    run_id = signature = input_example = None
    flavor = "test"

    def __init__(self, version: str) -> None:
        self.version = version
        self.model_id = f"m-{version}"

    def predict(self, data: Any, params: Any = None) -> Any:
        import pandas as pd

        return pd.DataFrame({"version": [self.version] * len(data), "n": np.arange(len(data))})


def test_a_follower_swaps_the_version_that_answers() -> None:
    pointer = {"version": "1"}
    served = ServedModel(Stub("1"), "models:/m@champion", "m", "1")  # type: ignore[arg-type]
    app = create_scoring_app(served, ServingOptions(follow_interval=3600))
    follower = AliasFollower(
        app.state.holder,
        lambda: (f"source-{pointer['version']}", pointer["version"]),
        lambda source: Stub(source.split("-")[1]),  # type: ignore[arg-type,return-value]
        interval=3600,
        model_uri="models:/m@champion",
        name="m",
    )
    with TestClient(app) as client:
        body = {"dataframe_records": [{"x": 1}, {"x": 2}]}
        assert client.post("/invocations", json=body).json() == {
            "predictions": [{"version": "1", "n": 0}, {"version": "1", "n": 1}]
        }
        assert follower.check() is False
        pointer["version"] = "2"
        assert follower.check() is True
        answer = client.post("/invocations", json=body)
        assert answer.json()["predictions"][0]["version"] == "2"
        assert answer.headers["x-dockyard-model-version"] == "2" and answer.headers["x-dockyard-model-id"] == "m-2"
        assert client.get("/version").json()["model_version"] == "2"
        metrics = client.get("/metrics").text
        assert 'dockyard_serving_model_info{model_id="m-2",model_name="m",model_version="2"} 1.0' in metrics
        assert 'dockyard_serving_model_info{model_id="m-1",model_name="m",model_version="1"} 0.0' in metrics


def test_openapi_for_a_tensor_model(tmp_path: Path) -> None:
    from dockyard.models.signature import ModelSignature, Schema, TensorSpec

    served = ServedModel(Stub("1"), "x")  # type: ignore[arg-type]
    object.__setattr__(served.predictor, "signature", ModelSignature(Schema([TensorSpec("float32", (-1, 2))])))
    with TestClient(create_scoring_app(served)) as client:
        document = client.get("/openapi.json").json()
    schema = document["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    inputs = schema["oneOf"][0]["properties"]["inputs"]
    assert inputs == {
        "type": "array",
        "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    }


@pytest.mark.parametrize("path", ["/ping", "/health", "/v2/health/live", "/v2/health/ready", "/v2", "/openapi.json"])
def test_operational_endpoints(path: str) -> None:
    with TestClient(create_scoring_app(ServedModel(Stub("1"), "x"))) as client:  # type: ignore[arg-type]
        assert client.get(path).status_code == 200
