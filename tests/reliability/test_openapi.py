"""The OpenAPI document (``/api/openapi.json``) covers every route the server serves, and schemathesis,
driving a live ``dockyard server`` with auth from it, finds no 5xx and no answer outside the document."""

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
