"""The OpenAPI document (``/api/openapi.json``) covers every route the server serves, types the success
bodies of the main MLflow operations (a live server's real answers match them; a wrong body does not),
and schemathesis, driving a live ``dockyard server`` with auth from it, finds no 5xx and no answer
outside the document."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from starlette.testclient import TestClient

from dockyard.cli.server import ServerOptions, _options, build_app

from server.dockyard_process import Server, dockyard_server

PASSWORD = "fuzz-admin-password-1"
EXAMPLES = int(os.environ.get("DOCKYARD_TEST_FUZZ_EXAMPLES", "6"))  # per operation: bounded for CI


def _app_options(tmp_path: Path) -> ServerOptions:
    from dataclasses import replace

    return replace(_options(str(tmp_path / "s.db"), None, None, True), auth=True)


def test_every_served_route_and_method_is_in_the_document(tmp_path: Path) -> None:
    app = build_app(_app_options(tmp_path))
    app.state.ctx.auth.bootstrap_admin(PASSWORD)
    with TestClient(app) as http:
        response = http.get("/api/openapi.json", auth=("admin", PASSWORD))
    assert response.status_code == 200
    document = response.json()
    missing = []
    for route in app.routes:
        path = re.sub(r"\{([A-Za-z_]\w*)(?::[a-z]+)?\}", r"{\1}", route.path)
        for method in sorted(route.methods or ()):
            if method != "HEAD" and method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {route.path}")
    assert not missing, f"served but not in /api/openapi.json: {missing}"


def test_the_document_names_the_fields_handlers_read(tmp_path: Path) -> None:
    from dockyard.server.openapi import openapi_document

    document = openapi_document(build_app(_app_options(tmp_path)).routes, auth=True)
    log_batch = document["paths"]["/api/2.0/mlflow/runs/log-batch"]["post"]
    body = log_batch["requestBody"]["content"]["application/json"]["schema"]
    assert {"run_id", "metrics", "params", "tags"} <= set(body["properties"])
    get_run = document["paths"]["/api/2.0/mlflow/runs/get"]["get"]
    assert {p["name"] for p in get_run["parameters"]} >= {"run_id", "run_uuid"}
    model = document["paths"]["/api/2.0/mlflow/logged-models/{model_id}"]["get"]
    assert {"name": "model_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}} in model[
        "parameters"
    ]
    assert document["security"] == [{"basic": []}, {"token": []}]


# Operations whose success body the document types, and the entity each one must name.
TYPED = {
    ("post", "/api/2.0/mlflow/experiments/create"): None,
    ("get", "/api/2.0/mlflow/experiments/get"): "Experiment",
    ("get", "/api/2.0/mlflow/experiments/get-by-name"): "Experiment",
    ("post", "/api/2.0/mlflow/experiments/search"): "Experiment",
    ("post", "/api/2.0/mlflow/runs/create"): "Run",
    ("get", "/api/2.0/mlflow/runs/get"): "Run",
    ("post", "/api/2.0/mlflow/runs/update"): "RunInfo",
    ("post", "/api/2.0/mlflow/runs/search"): "Run",
    ("get", "/api/2.0/mlflow/metrics/get-history"): "Metric",
    ("post", "/api/2.0/mlflow/runs/log-batch"): "Empty",
    ("post", "/api/2.0/mlflow/runs/set-tag"): "Empty",
    ("post", "/api/2.0/mlflow/runs/delete-tag"): "Empty",
    ("post", "/api/2.0/mlflow/registered-models/create"): "RegisteredModel",
    ("get", "/api/2.0/mlflow/registered-models/get"): "RegisteredModel",
    ("post", "/api/2.0/mlflow/registered-models/rename"): "RegisteredModel",
    ("patch", "/api/2.0/mlflow/registered-models/update"): "RegisteredModel",
    ("get", "/api/2.0/mlflow/registered-models/search"): "RegisteredModel",
    ("get", "/api/2.0/mlflow/registered-models/get-latest-versions"): "ModelVersion",
    ("post", "/api/2.0/mlflow/model-versions/create"): "ModelVersion",
    ("get", "/api/2.0/mlflow/model-versions/get"): "ModelVersion",
    ("patch", "/api/2.0/mlflow/model-versions/update"): "ModelVersion",
    ("post", "/api/2.0/mlflow/model-versions/transition-stage"): "ModelVersion",
    ("get", "/api/2.0/mlflow/model-versions/search"): "ModelVersion",
    ("get", "/api/2.0/mlflow/model-versions/get-download-uri"): None,
    ("post", "/api/2.0/mlflow/logged-models"): "LoggedModel",
    ("get", "/api/2.0/mlflow/logged-models/{model_id}"): "LoggedModel",
    ("post", "/api/2.0/mlflow/logged-models/search"): "LoggedModel",
    ("post", "/ajax-api/2.0/mlflow/runs/search"): "Run",  # every prefix of a typed operation is typed
}


def _success_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path][method]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    return schema


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _validator(document: dict[str, Any], method: str, path: str) -> Any:
    """A JSON Schema validator of the 200 body of one operation, its $refs resolved in the document."""
    from jsonschema import Draft4Validator  # OpenAPI 3.0's schemas are (a subset of) draft 4's

    root = {**_success_schema(document, method, path), "components": document["components"]}
    Draft4Validator.check_schema(root)
    return Draft4Validator(root)


def test_the_main_operations_answer_typed_entities_defined_once(tmp_path: Path) -> None:
    from openapi_spec_validator import validate

    from dockyard.server.openapi import openapi_document
    from dockyard.server.openapi_schemas import RESPONSES

    document = openapi_document(build_app(_app_options(tmp_path)).routes, auth=True)
    schemas = document["components"]["schemas"]
    assert {"Experiment", "Run", "RunInfo", "RunData", "Metric", "Param", "RunTag", "RegisteredModel"} <= set(schemas)
    assert {"ModelVersion", "LoggedModel", "Empty", "Error"} <= set(schemas)
    for (method, path), entity in TYPED.items():
        schema = _success_schema(document, method, path)
        assert schema != {"type": "object"}, f"{method.upper()} {path} is not typed"
        if entity is not None:
            assert f"#/components/schemas/{entity}" in _refs(schema), f"{method.upper()} {path} names no {entity}"
    validate(document)  # a valid OpenAPI 3.0 document, components included
    # Not every operation: one outside the list keeps the generic object.
    assert _success_schema(document, "get", "/api/2.0/dockyard/version") == {"type": "object"}
    # Every reference resolves, and every typed (method, path) is an operation the server serves.
    names = {ref.removeprefix("#/components/schemas/") for ref in _refs(document)}
    assert names <= set(schemas), names - set(schemas)
    served = {(m, re.sub(r"^/api/[23]\.0", "", p)) for p, ops in document["paths"].items() for m in ops}
    stale = [key for key in RESPONSES if (key[0].lower(), key[1]) not in served]
    assert not stale, f"typed but not served: {stale}"
    # Every property of every entity has a type (or is a reference to a typed one).
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            assert {"type", "$ref", "anyOf"} & set(prop), f"{name}.{field} has no type"


def test_a_body_against_the_wire_format_does_not_validate(tmp_path: Path) -> None:
    from dockyard.server.openapi import openapi_document

    document = openapi_document(build_app(_app_options(tmp_path)).routes, auth=True)
    info = {
        "run_id": "a" * 32,
        "run_uuid": "a" * 32,
        "experiment_id": "0",
        "status": "RUNNING",
        "artifact_uri": "mlflow-artifacts:/0/a/artifacts",
        "lifecycle_stage": "active",
    }
    get_run = _validator(document, "get", "/api/2.0/mlflow/runs/get")
    assert get_run.is_valid({"run": {"info": info, "data": {}}})
    assert get_run.is_valid({"run": {"info": {**info, "something_new": [1]}, "data": {}}})  # MLflow adds fields
    wrong = [
        {"run": {"info": {**info, "run_id": 7}, "data": {}}},  # an id is a string
        {"run": {"info": {**info, "status": "DONE"}, "data": {}}},  # an enum by its name
        {"run": {"info": {**info, "start_time": "yesterday"}, "data": {}}},  # int64 as a number
        {"run": {"info": info}},  # data is always sent
        {"run": {"info": info, "data": {"metrics": [{"key": "m", "value": "high", "timestamp": 1, "step": 0}]}}},
        {"run": {"info": info, "data": {"params": [{"key": "a", "value": 1}]}}},
        {"run_info": info},
    ]
    for body in wrong:
        assert not get_run.is_valid(body), body
    nan = {"key": "m", "value": "NaN", "timestamp": 1, "step": 0}
    assert get_run.is_valid({"run": {"info": info, "data": {"metrics": [nan]}}})
    version = {
        "name": "m",
        "version": "1",
        "creation_timestamp": 1,
        "last_updated_timestamp": 1,
        "current_stage": "None",
        "source": "s",
        "status": "READY",
    }
    get_version = _validator(document, "get", "/api/2.0/mlflow/model-versions/get")
    assert get_version.is_valid({"model_version": version})
    assert not get_version.is_valid({"model_version": {**version, "version": 1}})  # a version number is a string
    create = _validator(document, "post", "/api/2.0/mlflow/experiments/create")
    assert not create.is_valid({"experiment_id": 1})
    assert not create.is_valid({})
    assert not _validator(document, "post", "/api/2.0/mlflow/runs/log-batch").is_valid([])  # {} is an object


def test_the_document_needs_a_signed_in_caller(tmp_path: Path) -> None:
    app = build_app(_app_options(tmp_path))
    app.state.ctx.auth.bootstrap_admin(PASSWORD)
    with TestClient(app) as http:
        assert http.get("/api/openapi.json").status_code == 401


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("fuzz")
    env = {"DOCKYARD_AUTH_ADMIN_PASSWORD": PASSWORD}
    with dockyard_server(root, extra=("--auth",), env=env) as server:
        yield server


def _seed(url: str, auth: tuple[str, str]) -> None:
    """A little data, so fuzzed ids sometimes hit something: an experiment, a run, a registered model."""
    with httpx2.Client(base_url=f"{url}/api/2.0/mlflow", auth=auth, timeout=30) as http:
        experiment = http.post("/experiments/create", json={"name": "fuzz"}).json()["experiment_id"]
        run = http.post("/runs/create", json={"experiment_id": experiment, "start_time": 1}).json()["run"]
        http.post("/runs/log-batch", json={"run_id": run["info"]["run_id"], "params": [{"key": "a", "value": "1"}]})
        http.post("/registered-models/create", json={"name": "fuzz-model"})


def test_a_live_server_answers_match_the_typed_schemas(live: Server) -> None:
    """Real answers of a live server, for a seeded experiment, run, registered model, model version and
    logged model, validate against the document's success schemas."""
    auth = ("admin", PASSWORD)
    document = httpx2.get(f"{live.url}/api/openapi.json", auth=auth, timeout=30).json()
    checked: list[str] = []

    def call(http: httpx2.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        path = path if path.startswith("/mlflow-artifacts/") else f"/mlflow{path}"
        response = http.request(method, f"/api/2.0{path}", **kwargs)
        assert response.status_code == 200, (method, path, response.text)
        body: dict[str, Any] = response.json()
        template = re.sub(r"/logged-models/m-[0-9a-f]+", "/logged-models/{model_id}", path)
        errors = [e.message for e in _validator(document, method.lower(), f"/api/2.0{template}").iter_errors(body)]
        assert not errors, f"{method} {path}: {errors}\n{body}"
        checked.append(f"{method} {template}")
        return body

    with httpx2.Client(base_url=live.url, auth=auth, timeout=30) as http:
        experiment = call(http, "POST", "/experiments/create", json={"name": "typed"})["experiment_id"]
        call(
            http,
            "POST",
            "/experiments/set-experiment-tag",
            json={"experiment_id": experiment, "key": "t", "value": "v"},
        )
        call(http, "GET", "/experiments/get", params={"experiment_id": experiment})
        call(http, "GET", "/experiments/get-by-name", params={"experiment_name": "typed"})
        call(http, "POST", "/experiments/search", json={"max_results": 1})
        run = call(http, "POST", "/runs/create", json={"experiment_id": experiment, "start_time": 1, "run_name": "r"})
        run_id = run["run"]["info"]["run_id"]
        batch = {
            "run_id": run_id,
            "metrics": [
                {"key": "loss", "value": 0.5, "timestamp": 2, "step": 1},
                {"key": "odd", "value": "NaN", "timestamp": 2, "step": 0},
            ],
            "params": [{"key": "a", "value": "1"}],
            "tags": [{"key": "t", "value": "v"}],
        }
        call(http, "POST", "/runs/log-batch", json=batch)
        call(
            http,
            "POST",
            "/runs/log-metric",
            json={"run_id": run_id, "key": "loss", "value": 0.25, "timestamp": 3, "step": 2},
        )
        call(http, "POST", "/runs/log-parameter", json={"run_id": run_id, "key": "b", "value": "2"})
        call(http, "POST", "/runs/set-tag", json={"run_id": run_id, "key": "gone", "value": "x"})
        call(http, "POST", "/runs/delete-tag", json={"run_id": run_id, "key": "gone"})
        dataset = {"name": "d", "digest": "abc", "source_type": "local", "source": "{}", "profile": '{"num_rows": 3}'}
        inputs = {
            "run_id": run_id,
            "datasets": [{"dataset": dataset, "tags": [{"key": "mlflow.data.context", "value": "train"}]}],
        }
        call(http, "POST", "/runs/log-inputs", json=inputs)
        model = call(
            http, "POST", "/logged-models", json={"experiment_id": experiment, "name": "lm", "source_run_id": run_id}
        )
        model_id = model["model"]["info"]["model_id"]
        call(http, "POST", "/runs/outputs", json={"run_id": run_id, "models": [{"model_id": model_id, "step": 1}]})
        call(http, "GET", f"/logged-models/{model_id}")
        call(http, "GET", f"/logged-models/{model_id}/artifacts/directories")
        assert call(http, "POST", "/experiments/search-datasets", json={"experiment_ids": [experiment]})[
            "dataset_summaries"
        ]
        uri = run["run"]["info"]["artifact_uri"]
        assert uri.startswith("mlflow-artifacts:/"), uri
        stored = uri.removeprefix("mlflow-artifacts:").strip("/")
        put = http.put(f"/api/2.0/mlflow-artifacts/artifacts/{stored}/model/MLmodel", content=b"flavors: {}\n")
        assert put.status_code == 200, put.text
        listed = call(http, "GET", "/artifacts/list", params={"run_id": run_id, "path": "model"})
        assert listed["files"][0]["is_dir"] is False and listed["files"][0]["file_size"] == 12, listed
        call(http, "GET", "/artifacts/list", params={"run_id": run_id})  # a directory, without file_size
        call(http, "GET", "/mlflow-artifacts/artifacts", params={"path": stored})
        call(http, "POST", "/logged-models/search", json={"experiment_ids": [experiment]})
        full = call(http, "GET", "/runs/get", params={"run_id": run_id})["run"]
        assert full["data"]["metrics"] and full["inputs"]["dataset_inputs"], full  # the seeded entity, not an empty one
        call(http, "POST", "/runs/search", json={"experiment_ids": [experiment]})
        call(http, "GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"})
        call(http, "POST", "/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 5})
        call(
            http,
            "POST",
            "/registered-models/create",
            json={"name": "typed-model", "tags": [{"key": "k", "value": "v"}]},
        )
        source = f"runs:/{run_id}/model"
        call(http, "POST", "/model-versions/create", json={"name": "typed-model", "source": source, "run_id": run_id})
        call(
            http, "POST", "/registered-models/alias", json={"name": "typed-model", "alias": "champion", "version": "1"}
        )
        call(
            http,
            "POST",
            "/model-versions/set-tag",
            json={"name": "typed-model", "version": "1", "key": "k", "value": "v"},
        )
        call(
            http,
            "POST",
            "/model-versions/transition-stage",
            json={"name": "typed-model", "version": "1", "stage": "Staging"},
        )
        call(http, "PATCH", "/model-versions/update", json={"name": "typed-model", "version": "1", "description": "d"})
        call(http, "GET", "/model-versions/get", params={"name": "typed-model", "version": "1"})
        call(http, "GET", "/model-versions/search", params={"filter": "name='typed-model'"})
        call(http, "GET", "/model-versions/get-download-uri", params={"name": "typed-model", "version": "1"})
        call(http, "PATCH", "/registered-models/update", json={"name": "typed-model", "description": "d"})
        got = call(http, "GET", "/registered-models/get", params={"name": "typed-model"})["registered_model"]
        assert got["latest_versions"] and got["aliases"], got
        call(http, "GET", "/registered-models/search", params={"max_results": 5})
        call(http, "GET", "/registered-models/get-latest-versions", params={"name": "typed-model"})
        call(http, "GET", "/registered-models/alias", params={"name": "typed-model", "alias": "champion"})
        call(http, "POST", "/registered-models/rename", json={"name": "typed-model", "new_name": "typed-model-2"})
    assert len(checked) == 40, checked


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's check that nothing answers 5xx, but for MLflow's documented 501: multipart uploads
    to a store that has none (a local folder)."""
    from schemathesis.checks import not_a_server_error

    if response.status_code == 501 and response.json().get("error_code") == "NOT_IMPLEMENTED":
        return None
    return not_a_server_error(ctx, response, case)  # type: ignore[no-any-return]


def test_fuzzing_the_live_server_finds_no_server_error_and_no_undocumented_answer(live: Server) -> None:
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

    auth = ("admin", PASSWORD)
    _seed(live.url, auth)
    document = httpx2.get(f"{live.url}/api/openapi.json", auth=auth, timeout=30).json()
    # /ajax-api/ serves the same handlers as /api/: fuzzing one prefix covers both. /logout would end the
    # session the UI pages need; it is tested in the UI's own tests.
    schema = schemathesis.openapi.from_dict(document).exclude(path_regex=r"^/ajax-api/|^/logout$")
    headers = {"Authorization": "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()}
    failures: list[str] = []
    checks = [no_server_error, content_type_conformance, response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100  # the whole API, not an empty document

    for operation in operations:
        # Valid requests and, as often, requests that break the document (wrong types, missing fields).
        strategy = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            case.call_and_validate(base_url=live.url, headers=headers, checks=checks, timeout=30)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure is collected, then reported
            failures.append(f"{operation.label}: {' '.join(str(exc).split())[:600]}")
    assert not failures, "\n".join(failures)
    log = (live.root / "server.log").read_text()
    assert "Traceback" not in log, log[-4000:]
