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


# -- hardening -------------------------------------------------------------------------------------


def test_answers_carry_the_security_headers_and_a_request_id() -> None:
    with TestClient(create_scoring_app(ServedModel(Stub("1"), "x"))) as client:  # type: ignore[arg-type]
        for response in (
            client.post("/invocations", json={"dataframe_records": [{"x": 1}]}),
            client.post("/invocations", content=b"{", headers={"content-type": "application/json"}),
            client.get("/ping"),
            client.get("/metrics"),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "same-origin"
            assert response.headers["x-request-id"]


def test_deeply_nested_json_is_400() -> None:
    body = b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with TestClient(create_scoring_app(ServedModel(Stub("1"), "x"))) as client:  # type: ignore[arg-type]
        response = client.post("/invocations", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "BAD_REQUEST"


class MlflowException(Exception):
    """As MLflow's: a model written for MLflow says "bad input" with INVALID_PARAMETER_VALUE."""

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Picky:
    """A predictor without a signature that refuses negative input itself, and fails on 13."""

    run_id = signature = input_example = model_id = None
    flavor = "test"

    def predict(self, data: Any, params: Any = None) -> Any:
        x = data["x"]
        if (x < 0).any():
            raise MlflowException("x must not be negative")
        if (x == 13).any():
            raise RuntimeError("the model's own bug")
        return x * 2


def test_input_errors_the_model_reports_are_400_its_own_failures_500() -> None:
    with TestClient(create_scoring_app(ServedModel(Picky(), "x"))) as client:  # type: ignore[arg-type]
        refused = client.post("/invocations", json={"dataframe_records": [{"x": -1}]})
        assert refused.status_code == 400
        assert refused.json() == {
            "error_code": "BAD_REQUEST",
            "message": "the model refused the input: x must not be negative",
        }
        failed = client.post("/invocations", json={"dataframe_records": [{"x": 13}]})
        assert failed.status_code == 500 and "RuntimeError" in failed.json()["message"]
        assert client.post("/invocations", json={"dataframe_records": [{"x": 2}]}).json() == {"predictions": [4]}


def test_an_error_of_the_server_itself_is_500_with_only_a_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_scoring_app(ServedModel(Stub("1"), "x"))  # type: ignore[arg-type]

    async def broken(item: Any) -> Any:
        raise RuntimeError("secret /srv/models/path")

    monkeypatch.setattr(app.state.scorer.batcher, "submit", broken)
    with TestClient(app) as client:
        response = client.post("/invocations", json={"dataframe_records": [{"x": 1}]})
    assert response.status_code == 500 and "secret" not in response.text
    assert response.json()["message"] == f"internal error; request id {response.headers['x-request-id']}"


def test_request_bytes_in_flight_are_capped_with_503() -> None:
    app = create_scoring_app(ServedModel(Stub("1"), "x"), ServingOptions(max_inflight_bytes=2048))  # type: ignore[arg-type]
    body = {"dataframe_records": [{"x": i} for i in range(200)]}  # about 2.4 KB: over the cap on its own
    memory = app.state.scorer.memory
    with TestClient(app) as client:
        alone = client.post("/invocations", json=body)
        assert alone.status_code == 200  # a request alone always gets through
        assert memory.held == 0  # and gives its bytes back
        memory.held = 1500  # other requests hold most of the budget
        busy = client.post("/invocations", json={"dataframe_records": [{"x": 1}] * 100})  # about 800 bytes
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert busy.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert "DOCKYARD_MAX_INFLIGHT_BYTES" in busy.json()["message"]
        assert memory.held == 1500
        assert client.post("/invocations", json={"dataframe_records": [{"x": 1}]}).status_code == 200  # fits
        memory.held = 0
        assert client.post("/invocations", json=body).status_code == 200


class ParamRecorder(Stub):
    """A :class:`Stub` that keeps the params each predict call received."""

    def __init__(self, signature: Any) -> None:
        super().__init__("1")
        self.signature = signature
        self.received: list[Any] = []

    def predict(self, data: Any, params: Any = None) -> Any:
        self.received.append(params)
        return super().predict(data, params)


@pytest.mark.parametrize("declares", [True, False], ids=["params-schema", "no-params-schema"])
def test_undeclared_params_are_ignored_with_a_warning_header_and_one_log_line(
    declares: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """MLflow's scoring server warns about a param the signature does not declare and predicts without it
    (every param, for a model whose signature declares none); Dockyard names them in a header and logs once."""
    from dockyard.models import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema

    schema = ParamSchema([ParamSpec("k", "long", 1)]) if declares else None
    recorder = ParamRecorder(ModelSignature(Schema([ColSpec("long", "x")]), None, schema))
    with TestClient(create_scoring_app(ServedModel(recorder, "x"))) as client:  # type: ignore[arg-type]
        caplog.set_level("WARNING", logger="dockyard.serving")
        body = {"dataframe_records": [{"x": 1}], "params": {"k": 2, "top_p": 0.9, "b\r\nSet-Cookie: y": 1}}
        answer = client.post("/invocations", json=body)
        assert answer.status_code == 200, answer.text
        names = "b\\r\\nSet-Cookie: y, " + ("top_p" if declares else "k, top_p")  # escaped, on one line
        warning = f"ignored params not in the model's signature: {names}"
        assert answer.headers["x-dockyard-warning"] == warning
        assert "set-cookie" not in answer.headers  # a name cannot write a header of its own
        assert recorder.received == ([{"k": 2}] if declares else [None])
        assert [r.getMessage().endswith(warning) for r in caplog.records if r.levelname == "WARNING"] == [True]

        caplog.clear()
        v2 = {"inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [1]}], "parameters": {"zz": 1}}
        answer = client.post("/v2/models/model/infer", json=v2)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-dockyard-warning"] == "ignored params not in the model's signature: zz"
        assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1

        caplog.clear()
        declared_only = client.post("/invocations", json={"dataframe_records": [{"x": 1}]})
        assert "x-dockyard-warning" not in declared_only.headers and not caplog.records
