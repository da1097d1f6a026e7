"""The tracking server against what an attacker on the network (or a web page in a user's browser) tries:
each attack reproduced, answered with a 4xx in the error envelope (or a 500 that reveals nothing), and
nothing stored. In process, through Starlette's TestClient."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from dockyard.artifacts import LocalArtifactStore
from dockyard.core.config import Settings
from dockyard.core.errors import MissingExtra
from dockyard.db import Database
from dockyard.server.app import create_app
from dockyard.server.middleware import LOOPBACK_HOSTS, RequestGuard
from dockyard.tracking.service import TrackingService
from dockyard.tracking.sql_store import SqlTrackingStore

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


class Server:
    """An app on a fresh SQLite store and artifact destination, rebuilt with other settings on demand."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = Database(f"sqlite:///{tmp_path / 's.db'}")
        self.tracking = TrackingService(SqlTrackingStore(self.db, artifact_root="mlflow-artifacts:"))
        self.destination = tmp_path / "destination"
        self.settings = Settings.from_env({}, cwd=tmp_path)

    def client(self, base_url: str = "http://testserver", **settings: Any) -> TestClient:
        app = create_app(
            replace(self.settings, **settings), tracking=self.tracking, artifacts=LocalArtifactStore(self.destination)
        )
        return TestClient(app, base_url=base_url, raise_server_exceptions=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    made = Server(tmp_path)
    yield made
    made.db.dispose()


@pytest.fixture
def http(server: Server) -> Iterator[TestClient]:
    with server.client() as client:
        yield client


def _envelope(response: Any, status: int, code: str, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code
    for word in words:
        assert word in body["message"], body["message"]
    return body


# -- Host (DNS rebinding) ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_a_foreign_host_is_400_on_a_loopback_server(server: Server, host: str) -> None:
    with server.client(f"http://{host}", allowed_hosts=LOOPBACK_HOSTS) as client:
        response = client.post(f"{API}/experiments/create", json={"name": "rebound"})
        _envelope(response, 400, "BAD_REQUEST", "--allowed-hosts")
        assert response.headers["x-frame-options"] == "DENY" and response.headers["x-request-id"]
    assert server.tracking.get_experiment_by_name("rebound") is None


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:5000", "LOCALHOST."])
def test_loopback_names_are_served(server: Server, host: str) -> None:
    with server.client(f"http://{host}", allowed_hosts=LOOPBACK_HOSTS) as client:
        assert client.get(f"{API}/experiments/get", params={"experiment_id": "0"}).status_code == 200


def test_allowed_hosts_patterns_and_health_for_any_host(server: Server) -> None:
    with server.client("http://api.team.example", allowed_hosts=("*.team.example",)) as client:
        assert client.get(f"{API}/experiments/get", params={"experiment_id": "0"}).status_code == 200
    with server.client("http://team.example.evil", allowed_hosts=("*.team.example",)) as client:
        assert client.get(f"{API}/experiments/get", params={"experiment_id": "0"}).status_code == 400
        assert client.get("/health").text == "OK"  # probes send an address as the Host
    with server.client("http://anything.example", allowed_hosts=("*",)) as client:
        assert client.get("/version").status_code == 200


# -- CORS ----------------------------------------------------------------------------------------


def test_without_cors_origins_no_origin_is_allowed(http: TestClient) -> None:
    response = http.get(f"{API}/experiments/get", params={"experiment_id": "0"}, headers={"origin": "https://x.io"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
    preflight = http.options(
        f"{API}/experiments/create",
        headers={"origin": "https://x.io", "access-control-request-method": "POST"},
    )
    assert preflight.status_code >= 400 and "access-control-allow-origin" not in preflight.headers


def test_only_listed_origins_get_cors_headers_with_credentials(server: Server) -> None:
    app_origin = "https://app.example.com"
    with server.client(cors_allowed_origins=(app_origin + "/",)) as client:
        simple = client.get(f"{API}/experiments/get", params={"experiment_id": "0"}, headers={"origin": app_origin})
        assert simple.headers["access-control-allow-origin"] == app_origin
        assert simple.headers["access-control-allow-credentials"] == "true"
        preflight = client.options(
            f"{API}/experiments/create",
            headers={
                "origin": app_origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == app_origin
        assert "POST" in preflight.headers["access-control-allow-methods"]
        other = {"origin": "https://evil.example", "access-control-request-method": "POST"}
        assert client.options(f"{API}/experiments/create", headers=other).status_code == 400
        foreign = client.get(f"{API}/experiments/get", params={"experiment_id": "0"}, headers=other)
        assert "access-control-allow-origin" not in foreign.headers


def test_a_wildcard_origin_never_comes_with_credentials(server: Server) -> None:
    with server.client(cors_allowed_origins=("*",)) as client:
        response = client.get(
            f"{API}/experiments/get",
            params={"experiment_id": "0"},
            headers={"origin": "https://any.example", "cookie": "session=1"},
        )
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers


# -- security headers and request ids --------------------------------------------------------------


def test_every_response_carries_the_security_headers_and_a_request_id(http: TestClient) -> None:
    http.put(f"{PROXY}/0/r/artifacts/a.txt", content=b"x")
    responses = [
        http.get("/health"),
        http.get(f"{API}/experiments/get", params={"experiment_id": "0"}),
        http.get(f"{API}/experiments/get", params={"experiment_id": "404"}),
        http.get(f"{API}/no/such/route"),
        http.get(f"{PROXY}/0/r/artifacts/a.txt"),
        http.post(f"{API}/experiments/create", content=b"{", headers={"content-type": "application/json"}),
    ]
    ids = set()
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.request.url, name)
        assert len(response.headers.get_list("x-request-id")) == 1
        ids.add(response.headers["x-request-id"])
    assert len(ids) == len(responses)


def test_a_proxy_request_id_is_kept_and_a_forged_one_replaced(http: TestClient) -> None:
    kept = http.get("/health", headers={"x-request-id": "lb-7f3a9c2e"})
    assert kept.headers["x-request-id"] == "lb-7f3a9c2e"
    forged = http.get("/health", headers={"x-request-id": 'x" injected=1'})
    assert forged.headers["x-request-id"] != 'x" injected=1'


# -- 500s ------------------------------------------------------------------------------------------


def test_an_exception_in_a_handler_is_a_500_with_a_request_id_and_no_exception_text(
    server: Server, http: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret: cannot open /srv/dockyard/private.db (SELECT * FROM users)")

    monkeypatch.setattr(server.tracking, "search_experiments", broken)
    with caplog.at_level(logging.ERROR, logger="dockyard.server"):
        response = http.post(f"{API}/experiments/search", json={})
    rid = response.headers["x-request-id"]
    assert response.status_code == 500
    assert response.json() == {"error_code": "INTERNAL_ERROR", "message": f"internal error; request id {rid}"}
    assert "secret" not in response.text and "/srv" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    logged = [r for r in caplog.records if r.name == "dockyard.server"]
    assert len(logged) == 1 and rid in logged[0].getMessage()
    assert logged[0].exc_info is not None and "secret" in str(logged[0].exc_info[1])


def test_a_dockyard_error_of_the_server_is_masked_too(
    server: Server, http: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(*args: Any, **kwargs: Any) -> Any:
        raise MissingExtra("boto3", "s3")

    monkeypatch.setattr(server.tracking, "search_experiments", missing)
    response = http.post(f"{API}/experiments/search", json={})
    assert response.status_code == 500 and "boto3" not in response.text
    assert response.headers["x-request-id"] in response.json()["message"]


# -- limits ----------------------------------------------------------------------------------------


def test_a_3000_clause_filter_is_400_naming_the_limit(http: TestClient) -> None:
    for kind, path, clause in [
        ("runs", "/runs/search", "metrics.m{i} > 1"),
        ("experiments", "/experiments/search", "name = 'e{i}'"),
    ]:
        text = " OR ".join(clause.format(i=i) for i in range(3000))
        body = {"experiment_ids": ["0"], "filter": text} if kind == "runs" else {"filter": text}
        response = http.post(API + path, json=body)
        _envelope(response, 400, "INVALID_PARAMETER_VALUE", "500 comparisons")
        assert "SELECT" not in response.text


def test_500_comparisons_still_work(http: TestClient) -> None:
    text = " AND ".join(f"params.p{i} = 'x'" for i in range(500))
    assert http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": text}).status_code == 200


@pytest.mark.parametrize(
    ("order_by", "words"),
    [
        (["start_time"] * 2000, "limit of 100"),
        ([f"metrics.m{i}" for i in range(2000)], "limit of 100"),
        ([f"metrics.m{i}" for i in range(64)], "limit of 32"),
    ],
    ids=["2000-attributes", "2000-metrics", "64-joins"],
)
def test_too_many_order_by_keys_are_400_naming_the_limit(http: TestClient, order_by: list[str], words: str) -> None:
    response = http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "order_by": order_by})
    _envelope(response, 400, "INVALID_PARAMETER_VALUE", words)


def test_32_metric_order_keys_still_work(http: TestClient) -> None:
    keys = [f"metrics.m{i} DESC" for i in range(32)]
    assert http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "order_by": keys}).status_code == 200


@pytest.mark.parametrize("depth", [65, 5000, 100_000])
def test_deeply_nested_json_is_400_naming_the_limit(server: Server, http: TestClient, depth: int) -> None:
    body = b'{"name": "deep", "tags": ' + b"[" * depth + b"]" * depth + b"}"
    response = http.post(f"{API}/experiments/create", content=body, headers={"content-type": "application/json"})
    _envelope(response, 400, "INVALID_PARAMETER_VALUE", "deeper than 64 levels")
    assert server.tracking.get_experiment_by_name("deep") is None


def test_nesting_up_to_the_limit_is_parsed(http: TestClient) -> None:
    body = b'{"name": "fine", "tags": ' + b"[" * 63 + b"]" * 63 + b"}"
    response = http.post(f"{API}/experiments/create", content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500 and "deeper" not in response.text


# -- artifact_location -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "/etc",
        "file:///etc/passwd",
        "s3://someone-elses-bucket/x",
        "mlflow-artifacts:/0/../../etc",
        "mlflow-artifacts:/0/%2e%2e/%2e%2e/etc",
        "mlflow-artifacts://evil.example:5000/x",
        "relative/path",
        "https://evil.example/x",
    ],
)
def test_a_client_artifact_location_outside_the_roots_is_400(server: Server, http: TestClient, location: str) -> None:
    response = http.post(f"{API}/experiments/create", json={"name": "placed", "artifact_location": location})
    _envelope(response, 400, "INVALID_PARAMETER_VALUE", "artifact_location")
    assert server.tracking.get_experiment_by_name("placed") is None


def test_artifact_locations_under_the_roots_are_taken(server: Server) -> None:
    with server.client() as client:  # no roots configured: the proxy's
        response = client.post(
            f"{API}/experiments/create", json={"name": "a", "artifact_location": "mlflow-artifacts:/team/a"}
        )
        assert response.status_code == 200, response.text
    roots = ("/data/artifacts", "s3://bucket/team")
    with server.client(allowed_artifact_roots=roots) as client:
        for i, location in enumerate(["/data/artifacts/x", "file:///data/artifacts/y", "s3://bucket/team/z"]):
            response = client.post(f"{API}/experiments/create", json={"name": f"ok{i}", "artifact_location": location})
            assert response.status_code == 200, response.text
            assert server.tracking.get_experiment_by_name(f"ok{i}").artifact_location == location
        for location in ["s3://bucket/teammate/x", "/data/artifacts-other", "mlflow-artifacts:/x"]:
            response = client.post(f"{API}/experiments/create", json={"name": "no", "artifact_location": location})
            _envelope(response, 400, "INVALID_PARAMETER_VALUE", "artifact_location", "--artifact-roots")
        response = client.post(
            f"{API}/experiments/create", json={"name": "no", "artifact_location": "/data/artifacts/../etc"}
        )
        _envelope(response, 400, "INVALID_PARAMETER_VALUE", "artifact_location", "'..'")
        assert server.tracking.get_experiment_by_name("no") is None


# -- uploads and downloads -------------------------------------------------------------------------


def test_an_upload_over_the_cap_is_413_and_leaves_no_file(server: Server) -> None:
    directory = server.destination / "0" / "r" / "artifacts"

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming
        for _ in range(20):
            yield b"x" * 100

    with server.client(max_upload_bytes=1000) as client:
        declared = client.put(f"{PROXY}/0/r/artifacts/big.bin", content=b"x" * 2000)
        _envelope(declared, 413, "BAD_REQUEST", "limit of 1000 bytes")
        streamed = client.put(f"{PROXY}/0/r/artifacts/big.bin", content=chunks())
        _envelope(streamed, 413, "BAD_REQUEST", "limit of 1000 bytes")
        assert not (directory / "big.bin").exists()
        assert not directory.exists() or list(directory.iterdir()) == []  # no temporary file either
        assert client.put(f"{PROXY}/0/r/artifacts/small.bin", content=b"x" * 1000).status_code == 200
    assert (directory / "small.bin").stat().st_size == 1000


def test_content_disposition_escapes_quotes_and_encodes_non_ascii(http: TestClient) -> None:
    url = f"{PROXY}/0/r/artifacts/" + quote('r\u00e9sum\u00e9 "final";v2.txt')
    assert http.put(url, content=b"x").status_code == 200
    response = http.get(url)
    assert response.status_code == 200 and response.content == b"x"
    # MLflow's form: an ASCII fallback (accents stripped, quoted and escaped) and the exact name encoded.
    assert response.headers["content-disposition"] == (
        'attachment; filename="resume \\"final\\";v2.txt"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9%20%22final%22%3Bv2.txt'
    )


def test_content_disposition_drops_control_characters_and_escapes_backslashes() -> None:
    from dockyard.server.api.artifacts import content_disposition

    assert content_disposition('a\\b"\r\nSet-Cookie: x\x7f.txt') == 'attachment; filename="a\\\\b\\"Set-Cookie: x.txt"'
    assert content_disposition("\x00\x01") == "attachment; filename=download"


def test_a_missing_artifact_message_does_not_reveal_the_destination(server: Server, http: TestClient) -> None:
    response = http.get(f"{PROXY}/0/nothing/here.txt")
    _envelope(response, 404, "RESOURCE_DOES_NOT_EXIST", "here.txt")
    assert str(server.destination) not in response.text and "file:" not in response.text


# -- access log ------------------------------------------------------------------------------------


def test_the_access_log_has_one_line_per_request(http: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dockyard.access"):
        response = http.get(f"{API}/experiments/get", params={"experiment_id": "0"})
        http.get(f"{API}/experiments/get%0Aforged line", params={"experiment_id": "0"})
    lines = [r.getMessage() for r in caplog.records if r.name == "dockyard.access"]
    assert len(lines) == 2
    assert lines[0].startswith('testclient - "GET /api/2.0/mlflow/experiments/get" 200 ')
    assert "ms request_id=" + response.headers["x-request-id"] in lines[0]
    assert "\n" not in lines[1] and "\\n" in lines[1] and " 404 " in lines[1]


def test_no_access_log_when_it_is_turned_off(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    with server.client(access_log=False) as client, caplog.at_level(logging.INFO, logger="dockyard.access"):
        assert client.get("/health").status_code == 200
    assert [r for r in caplog.records if r.name == "dockyard.access"] == []


def test_the_access_log_names_the_signed_in_user(caplog: pytest.LogCaptureFixture) -> None:
    from starlette.responses import PlainTextResponse

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["state"]["user"] = "alice"  # what authentication puts in request.state
        await PlainTextResponse("hi", status_code=201)(scope, receive, send)

    with caplog.at_level(logging.INFO, logger="dockyard.access"):
        assert TestClient(RequestGuard(app)).post("/x").status_code == 201
    (line,) = [r.getMessage() for r in caplog.records if r.name == "dockyard.access"]
    assert line.startswith('testclient alice "POST /x" 201 ')


# -- the CLI's defaults ----------------------------------------------------------------------------


def test_cli_defaults_by_bind_address_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.cli.server import _options, hardened

    for name in ("DOCKYARD_ALLOWED_HOSTS", "DOCKYARD_ALLOWED_ARTIFACT_ROOTS", "DOCKYARD_CORS_ALLOWED_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    options = _options(str(tmp_path / "s.db"), None, None, True)
    loopback = hardened(options, "127.0.0.1").settings
    assert loopback.allowed_hosts == ("localhost", "127.0.0.1", "[::1]")
    assert loopback.allowed_artifact_roots == ("mlflow-artifacts:",)
    assert loopback.cors_allowed_origins == () and loopback.access_log is True
    assert hardened(options, "::1").settings.allowed_hosts == ("localhost", "127.0.0.1", "[::1]")
    assert hardened(options, "0.0.0.0").settings.allowed_hosts == ()  # noqa: S104  bound everywhere: any host
    chosen = hardened(
        options,
        "0.0.0.0",  # noqa: S104
        allowed_hosts="tracking.example, *.tracking.example",
        cors_allowed_origins="https://ui.example",
        artifact_roots="s3://bucket/dockyard, shared",
        max_upload_bytes=1024,
        access_log=False,
    ).settings
    assert chosen.allowed_hosts == ("tracking.example", "*.tracking.example")
    assert chosen.cors_allowed_origins == ("https://ui.example",)
    assert chosen.allowed_artifact_roots == ("s3://bucket/dockyard", str(Path.cwd() / "shared"))
    assert (chosen.max_upload_bytes, chosen.access_log) == (1024, False)
    direct = replace(options, serve_artifacts=False, artifacts_destination=str(tmp_path / "dest"))
    assert hardened(direct, "127.0.0.1").settings.allowed_artifact_roots == (str(tmp_path / "dest"),)


def test_settings_from_the_environment(tmp_path: Path) -> None:
    env = {
        "DOCKYARD_ALLOWED_HOSTS": "a.example, b.example,",
        "DOCKYARD_CORS_ALLOWED_ORIGINS": "https://ui.example",
        "DOCKYARD_ALLOWED_ARTIFACT_ROOTS": "s3://bucket/p,shared,/abs",
        "DOCKYARD_MAX_UPLOAD_BYTES": "2048",
        "DOCKYARD_ACCESS_LOG": "false",
        "DOCKYARD_MAX_INFLIGHT_BYTES": "1048576",
    }
    settings = Settings.from_env(env, cwd=tmp_path)
    assert settings.allowed_hosts == ("a.example", "b.example")
    assert settings.cors_allowed_origins == ("https://ui.example",)
    assert settings.allowed_artifact_roots == ("s3://bucket/p", str(tmp_path / "shared"), "/abs")
    assert (settings.max_upload_bytes, settings.access_log, settings.max_inflight_bytes) == (2048, False, 1048576)
    defaults = Settings.from_env({}, cwd=tmp_path)
    assert (defaults.max_upload_bytes, defaults.access_log) == (5 * 1024**3, True)


def test_stale_uploads_are_removed_at_start(tmp_path: Path) -> None:
    import os

    from dockyard.cli.server import _options, remove_stale_uploads

    options = _options(str(tmp_path / "s.db"), str(tmp_path / "dest"), None, True)
    stale = tmp_path / "dest" / "0" / "r" / "artifacts" / ".dockyard-tmp-0123456789abcdef"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"killed upload")
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    assert remove_stale_uploads(options) == 1 and not stale.exists()
    assert remove_stale_uploads(replace(options, serve_artifacts=False)) == 0
