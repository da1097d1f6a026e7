"""A real ``dockyard serve`` process: every payload format, CSV, v2, errors, batching, metrics, the log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from serving.scoring_process import scoring_server

LIMIT = 4096  # DOCKYARD_MAX_REQUEST_BYTES for this server


@pytest.fixture(scope="module")
def server(scaler_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("serve")
    # The scaler is a custom Python model (a pickle and its code/): served with the opt-in.
    extra = ("--max-batch-delay-ms", "2", "--prediction-log", str(root / "log"), "--name", "scaler", "--allow-pickle")
    env = {"DOCKYARD_MAX_REQUEST_BYTES": str(LIMIT)}
    with (
        scoring_server(str(scaler_model), root, extra=extra, env=env) as url,
        httpx2.Client(base_url=url, timeout=30) as client,
    ):
        yield {"client": client, "root": root}


@pytest.fixture
def client(server: dict[str, Any]) -> httpx2.Client:
    return server["client"]


def invoke(client: httpx2.Client, payload: Any) -> httpx2.Response:
    return client.post("/invocations", json=payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": ["x", "k"], "data": [[1.0, 1], [2.5, 0]]}},
        {"dataframe_split": {"columns": ["k", "x"], "data": [[1, 1.0], [0, 2.5]], "index": [7, 8]}},
        {"dataframe_records": [{"x": 1.0, "k": 1}, {"x": 2.5, "k": 0}]},
        {"instances": [{"x": 1.0, "k": 1}, {"x": 2.5, "k": 0}]},
        {"inputs": {"x": [1.0, 2.5], "k": [1, 0]}},
        {"inputs": {"x": [1, 2.5], "k": [1, 0]}, "params": {"sleep": 0}},
    ],
    ids=["split", "split-index", "records", "instances", "inputs", "inputs-params"],
)
def test_every_json_format(client: httpx2.Client, payload: Any) -> None:
    response = invoke(client, payload)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [3.0, 5.0]}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-dockyard-model-version"]


def test_csv(client: httpx2.Client) -> None:
    response = client.post("/invocations", content=b"x,k\n1.0,1\n2.5,0\n", headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [3.0, 5.0]}


def test_ping_health_version_openapi(client: httpx2.Client, scaler_model: Path) -> None:
    assert client.get("/ping").status_code == 200
    assert client.get("/health").status_code == 200
    version = client.get("/version").json()
    assert version["model_uri"] == str(scaler_model)
    assert version["flavor"] == "python_function"
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    body = document["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]
    records = next(o for o in body["schema"]["oneOf"] if "dataframe_records" in o["properties"])
    row = records["properties"]["dataframe_records"]["items"]
    assert row["properties"] == {
        "x": {"type": "number", "format": "double"},
        "k": {"type": "integer", "format": "int64"},
    }
    assert body["example"] == {"dataframe_split": {"columns": ["x", "k"], "data": [[1.0, 1]]}}


def test_open_inference_protocol(client: httpx2.Client) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2/models/scaler/ready").json() == {"name": "scaler", "ready": True}
    metadata = client.get("/v2/models/scaler").json()
    assert metadata["name"] == "scaler"
    assert metadata["inputs"] == [
        {"name": "x", "datatype": "FP64", "shape": [-1]},
        {"name": "k", "datatype": "INT64", "shape": [-1]},
    ]
    request = {
        "id": "r-1",
        "inputs": [
            {"name": "x", "shape": [2], "datatype": "FP64", "data": [1.0, 2.5]},
            {"name": "k", "shape": [2, 1], "datatype": "INT64", "data": [[1], [0]]},
        ],
    }
    response = client.post("/v2/models/scaler/infer", json=request)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["id"] == "r-1" and answer["model_name"] == "scaler"
    assert answer["outputs"] == [{"name": "predict", "shape": [2], "datatype": "FP64", "data": [3.0, 5.0]}]
    missing = client.post("/v2/models/scaler/infer", json={"inputs": request["inputs"][:1]})
    assert missing.status_code == 400 and "'k'" in missing.json()["error"]
    unknown = client.get("/v2/models/other")
    assert unknown.status_code == 404 and "scaler" in unknown.json()["error"]


@pytest.mark.parametrize(
    ("payload", "column"),
    [
        ({"dataframe_records": [{"x": 1.0}]}, "'k'"),
        ({"dataframe_split": {"columns": ["x", "k"], "data": [["one", 1]]}}, "'x'"),
        ({"inputs": {"x": [1.0], "k": [1.5]}}, "'k'"),
    ],
    ids=["missing", "text-for-double", "fraction-for-long"],
)
def test_signature_mismatch_is_400_naming_the_column(client: httpx2.Client, payload: Any, column: str) -> None:
    response = invoke(client, payload)
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert column in body["message"]


@pytest.mark.parametrize(
    ("content", "content_type", "words"),
    [
        (b'{"dataframe_split": ', "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "exactly one of"),
        (b'{"inputs": {}, "instances": []}', "application/json", "exactly one of"),
        (b'{"dataframe_split": {"columns": ["x", "k"], "data": [[1.0]]}}', "application/json", "row 0"),
        (b'{"inputs": {"x": [1.0], "k": [1]}, "params": [1]}', "application/json", "params"),
        (b'x,k\n1.0,1\n"2,1\n', "text/csv", "not valid CSV"),
        (b"", "text/csv", "empty"),
    ],
    ids=["truncated-json", "bare-list", "two-formats", "short-row", "params-list", "csv", "empty"],
)
def test_malformed_requests_are_400(client: httpx2.Client, content: bytes, content_type: str, words: str) -> None:
    response = client.post("/invocations", content=content, headers={"content-type": content_type})
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]


def test_an_undeclared_param_is_ignored_with_a_warning_header(client: httpx2.Client) -> None:
    response = invoke(client, {"inputs": {"x": [1.0], "k": [1]}, "params": {"nope": 1, "sleep": 0}})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [3.0]}
    assert response.headers["x-dockyard-warning"] == "ignored params not in the model's signature: nope"
    assert "x-dockyard-warning" not in invoke(client, {"inputs": {"x": [1.0], "k": [1]}}).headers


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/json; format=pandas-split", ""])
def test_other_content_types_are_415(client: httpx2.Client, content_type: str) -> None:
    response = client.post("/invocations", content=b"{}", headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.json()["error_code"] == "BAD_REQUEST"


def test_charset_utf8_is_accepted(client: httpx2.Client) -> None:
    body = json.dumps({"inputs": {"x": [1.0], "k": [0]}}).encode()
    response = client.post("/invocations", content=body, headers={"content-type": "application/json; charset=UTF-8"})
    assert response.status_code == 200, response.text


def test_body_over_the_limit_is_413(client: httpx2.Client) -> None:
    rows = [[1.0, 1]] * 1000
    response = invoke(client, {"dataframe_split": {"columns": ["x", "k"], "data": rows}})
    assert response.status_code == 413
    assert str(LIMIT) in response.json()["message"]
    chunks = (b'{"inputs": {"x": [' + b"1.0," * 100 for _ in range(20))  # streamed: no content-length
    streamed = client.post("/invocations", content=chunks, headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_exception_inside_the_model_is_500_and_the_server_keeps_serving(client: httpx2.Client) -> None:
    response = invoke(client, {"inputs": {"x": [-1.0], "k": [0]}})
    assert response.status_code == 500
    body = response.json()
    assert body["error_code"] == "INTERNAL_ERROR"
    assert "x must not be negative" in body["message"] and "ValueError" in body["message"]
    assert invoke(client, {"inputs": {"x": [1.0], "k": [0]}}).json() == {"predictions": [2.0]}


def test_concurrent_requests_each_get_their_own_predictions(client: httpx2.Client, server: dict[str, Any]) -> None:
    """16 threads send distinct rows (1 to 3 rows each, some failing, some with params): every answer
    matches its own request, whatever batch it was merged into."""
    failures: list[str] = []

    def worker(thread: int) -> None:
        with httpx2.Client(base_url=str(client.base_url), timeout=30) as own:
            for i in range(15):
                rows = 1 + (thread + i) % 3
                xs = [thread * 1000 + i * 10 + r + 0.5 for r in range(rows)]
                ks = [thread] * rows
                bad = (thread + i) % 7 == 0
                if bad:
                    xs[0] = -xs[0]
                payload: dict[str, Any] = {
                    "dataframe_split": {"columns": ["x", "k"], "data": list(map(list, zip(xs, ks, strict=True)))}
                }
                if i % 4 == 0:
                    payload["params"] = {"sleep": 0.0}
                response = own.post("/invocations", json=payload)
                expected = [x * 2 + k for x, k in zip(xs, ks, strict=True)]
                if bad:
                    if response.status_code != 500:
                        failures.append(f"{thread}/{i}: expected 500, got {response.status_code} {response.text}")
                elif response.status_code != 200 or response.json() != {"predictions": expected}:
                    failures.append(f"{thread}/{i}: expected {expected}, got {response.status_code} {response.text}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_metrics(client: httpx2.Client) -> None:
    assert invoke(client, {"inputs": {"x": [1.0, 2.0], "k": [0, 0]}}).status_code == 200
    assert invoke(client, {"inputs": {"x": [1.0]}}).status_code == 400
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        "dockyard_serving_requests_total",
        "dockyard_serving_errors_total",
        "dockyard_serving_request_duration_seconds_bucket",
        "dockyard_serving_predict_duration_seconds_count",
        "dockyard_serving_batch_rows_bucket",
        "dockyard_serving_batch_requests_bucket",
        "dockyard_serving_predictions_total",
        "dockyard_serving_model_info",
    ):
        assert name in text, name
    assert 'dockyard_serving_requests_total{endpoint="invocations",model_version="unversioned",status="200"}' in text
    assert 'dockyard_serving_errors_total{endpoint="invocations",error="ModelInputError",status="400"}' in text
    assert 'dockyard_serving_model_info{model_id="",model_name="",model_version=""} 1.0' in text


def test_prediction_log(client: httpx2.Client, server: dict[str, Any]) -> None:
    assert invoke(client, {"inputs": {"x": [4.0], "k": [1]}, "params": {"sleep": 0}}).status_code == 200
    client.post("/invocations", content=b"x,k\n5.0,0\n", headers={"content-type": "text/csv"})
    directory = server["root"] / "log"
    lines: list[dict[str, Any]] = []
    for _ in range(100):  # the log is written by a background thread
        files = sorted(directory.glob("predictions-*.jsonl"))
        lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        if any(line["inputs"] == "x,k\n5.0,0\n" for line in lines):
            break
        threading.Event().wait(0.1)
    entry = next(line for line in lines if line["inputs"] == {"inputs": {"x": [4.0], "k": [1]}, "params": {"sleep": 0}})
    assert entry["outputs"] == {"predictions": [9.0]}
    assert entry["status"] == 200 and entry["rows"] == 1 and entry["endpoint"] == "invocations"
    assert entry["latency_ms"] > 0 and entry["time"].endswith("+00:00")
    assert set(entry) >= {"model_name", "model_version", "model_id"}
    csv_entry = next(line for line in lines if line["inputs"] == "x,k\n5.0,0\n")
    assert csv_entry["outputs"] == {"predictions": [10.0]}
    errors = [line for line in lines if line["status"] == 400]
    assert errors and all({"message", "error"} & set(line["outputs"]) for line in errors)
