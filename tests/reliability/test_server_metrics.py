"""``/metrics`` of ``dockyard server``: requests by route template and status, latency, errors, the
database pool; sign-in required with auth; with ``--workers 2`` a scrape counts both workers."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import httpx2
from starlette.testclient import TestClient

from dockyard.cli.server import _options, build_app
from reliability.scratch import ServerProcess


def sample(page: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels``."""
    total = 0.0
    for found_labels, value in re.findall(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", page, re.MULTILINE):
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', found_labels))
        if all(pairs.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


def test_requests_are_counted_by_route_template_with_the_database_pool(tmp_path: Path) -> None:
    app = build_app(_options(str(tmp_path / "s.db"), None, None, True))
    with TestClient(app) as http:
        for model_id in ("m-1", "m-2", "m-3"):
            assert http.get(f"/api/2.0/mlflow/logged-models/{model_id}").status_code == 404
        assert http.get("/health").status_code == 200
        assert http.get("/no/such/page").status_code == 404
        page = http.get("/metrics")
    assert page.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = page.text
    route = "/api/2.0/mlflow/logged-models/{model_id}"  # one series for every id: bounded cardinality
    assert sample(text, "dockyard_server_requests_total", route=route, status="404") == 3
    assert sample(text, "dockyard_server_requests_total", route="unmatched") == 1
    assert sample(text, "dockyard_server_request_duration_seconds_count", route="/health") == 1
    assert sample(text, "dockyard_server_errors_total") == 0
    assert sample(text, "dockyard_server_db_pool_connections", state="size") >= 1
    assert sample(text, "dockyard_server_workers") == 1


def test_metrics_need_a_signed_in_caller_when_auth_is_on(tmp_path: Path) -> None:
    app = build_app(replace(_options(str(tmp_path / "s.db"), None, None, True), auth=True))
    app.state.ctx.auth.bootstrap_admin("metrics-admin-password")
    with TestClient(app) as http:
        assert http.get("/metrics").status_code == 401
        signed_in = http.get("/metrics", auth=("admin", "metrics-admin-password"))
    assert signed_in.status_code == 200
    assert sample(signed_in.text, "dockyard_server_requests_total", route="/metrics", status="401") == 1


def test_a_scrape_of_two_workers_counts_every_request(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, str(tmp_path / "s.db"), workers=2)
    server.start()
    requests = 40
    try:
        with httpx2.Client(base_url=server.url, timeout=30) as http:
            for _ in range(requests):  # a new connection each time: the kernel spreads them over the workers
                assert http.get("/api/2.0/mlflow/experiments/get?experiment_id=0", headers={"connection": "close"})
            deadline = time.monotonic() + 30  # the workers publish their figures every second
            while True:
                text = http.get("/metrics", headers={"connection": "close"}).text
                counted = sample(text, "dockyard_server_requests_total", route="/api/2.0/mlflow/experiments/get")
                if counted == requests or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    finally:
        server.stop()
    assert counted == requests, text
    assert sample(text, "dockyard_server_workers") == 2
