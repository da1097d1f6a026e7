"""``dockyard serve --monitor``: drift gauges per feature on /metrics, from a rolling window of the inputs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from starlette.testclient import TestClient

import dockyard
import dockyard.models
import dockyard.sklearn
from dockyard.serving import ServingOptions, create_scoring_app


def _gauges(text: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r'dockyard_serving_feature_psi\{feature="([^"]+)"\} (\S+)', text)}


def test_the_gauges_stay_low_on_ordinary_traffic_and_rise_on_a_shift(store: str) -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(5, 2, size=3000)})
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(
            LinearRegression().fit(x, x["a"] + x["b"]), name="model", input_example=x.head(2), training_data=x
        )
    served = dockyard.models.load_model(info.model_uri)
    app = create_scoring_app(served, ServingOptions(monitor_window=500))
    with TestClient(app) as client:
        assert _gauges(client.get("/metrics").text) == {}  # nothing served yet
        fresh = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(5, 2, size=500)})
        for start in range(0, 500, 50):
            chunk = fresh.iloc[start : start + 50]
            body = {"dataframe_split": {"columns": ["a", "b"], "data": chunk.to_numpy().tolist()}}
            assert client.post("/invocations", json=body).status_code == 200
        text = client.get("/metrics").text
        assert "dockyard_serving_monitor_window_rows 500" in text
        assert all(v < 0.1 for v in _gauges(text).values()) and set(_gauges(text)) == {"a", "b"}
        shifted = {"dataframe_records": [{"a": float(v), "b": 5.0} for v in rng.normal(3, 1, size=500)]}
        assert client.post("/invocations", json=shifted).status_code == 200
        gauges = _gauges(client.get("/metrics").text)
        assert gauges["a"] > 1.0 and gauges["b"] > 1.0


def test_without_a_profile_there_are_no_gauges(store: str) -> None:
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(LinearRegression().fit(x, [1.0, 2.0, 3.0]), name="model", input_example=x)
    app = create_scoring_app(dockyard.models.load_model(info.model_uri), ServingOptions(monitor_window=100))
    with TestClient(app) as client:
        client.post("/invocations", json={"dataframe_split": {"columns": ["a"], "data": [[1.0]]}})
        assert "dockyard_serving_feature_psi" not in client.get("/metrics").text
