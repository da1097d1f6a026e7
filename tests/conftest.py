"""Shared fixtures: a clean environment per test, and tracking stores on SQLite and PostgreSQL.

PostgreSQL tests run when ``DOCKYARD_TEST_POSTGRES_URI`` names a database (``.ci/run`` always sets it);
without it they are skipped. CI also sets ``DOCKYARD_TEST_REQUIRE_POSTGRES=1``, which turns a missing
URI into an error instead of a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URI = os.environ.get("DOCKYARD_TEST_POSTGRES_URI", "")
REQUIRE_POSTGRES = os.environ.get("DOCKYARD_TEST_REQUIRE_POSTGRES", "") == "1"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No DOCKYARD_* variable leaks in, the cwd is a fresh folder, and the fluent API starts afresh."""
    for name in list(os.environ):
        # MLFLOW_ALLOW_*: MLflow's opt-ins to loading pickles; MLFLOW_TRACKING_*: its server credentials
        # (and URI); Dockyard honours both.
        if name.startswith(("DOCKYARD_", "MLFLOW_ALLOW_", "MLFLOW_TRACKING_")):
            monkeypatch.delenv(name)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    # Downloaded models are cached per test, never in the user's home.
    monkeypatch.setenv("DOCKYARD_MODEL_CACHE", str(tmp_path / "model-cache"))
    yield
    from dockyard.lifecycle import fluent

    try:
        while fluent._state.stack:
            fluent._state.stack.pop()
        if fluent._state.client is not None:
            fluent._state.client.close()
    finally:
        fluent._state.__init__()  # type: ignore[misc]
        from dockyard.registry import backends as registry_backends
        from dockyard.tracking.backends import close_all

        registry_backends.close_all()
        close_all()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3-compatible server on a loopback port (the tests that use it need moto)."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test instead of migrating every time."""
    from dockyard.db import Database, upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


def _truncate_postgres(uri: str) -> None:
    from dockyard.db import Database, ensure_schema

    db = Database(uri)
    try:
        ensure_schema(db)
        with db.write() as conn:
            conn.exec_driver_sql(
                "TRUNCATE experiments, experiment_tags, runs, params, tags, latest_metrics, metrics, logged_models, "
                "logged_model_params, logged_model_tags, logged_model_metrics, run_outputs, run_model_inputs, "
                "datasets, run_inputs, run_input_tags, registered_models, registered_model_tags, model_versions, "
                "model_version_tags, registered_model_aliases, registry_events, webhooks, webhook_deliveries, users, "
                "experiment_permissions, registered_model_permissions, api_tokens, roles, role_permissions, user_roles "
                "RESTART IDENTITY CASCADE"
            )
    finally:
        db.dispose()


def _backends() -> list[object]:
    marks = [] if POSTGRES_URI else [pytest.mark.skip(reason="DOCKYARD_TEST_POSTGRES_URI is not set")]
    return ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, *marks])]


@pytest.fixture(params=_backends())
def db_uri(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated tracking database: SQLite, and PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    _truncate_postgres(POSTGRES_URI)
    return POSTGRES_URI


@pytest.fixture
def artifact_root(tmp_path: Path) -> Path:
    root = tmp_path / "artifacts"
    root.mkdir()
    return root


def pytest_configure(config: pytest.Config) -> None:
    """In CI (DOCKYARD_TEST_REQUIRE_POSTGRES=1) PostgreSQL tests must run, never be skipped."""
    if REQUIRE_POSTGRES and not POSTGRES_URI:
        raise pytest.UsageError("DOCKYARD_TEST_REQUIRE_POSTGRES=1 but DOCKYARD_TEST_POSTGRES_URI is not set")


# The MLflow releases the compatibility tests (tests/models/test_mlflow_interop.py, tests/server/test_mlflow_*)
# have passed against; the header of every run says which one this run uses.
MLFLOW_VERSIONS_TESTED = ("3.17.2", "3.18.0")


def pytest_report_header(config: pytest.Config) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("mlflow-skinny")
    except PackageNotFoundError:
        installed = "not installed"
    return f"mlflow-skinny: {installed} (compatibility tests known to pass with {', '.join(MLFLOW_VERSIONS_TESTED)})"


# `make test-fast` runs `pytest -m "not heavy"`: the unit and contract tests on SQLite, in process. These
# modules start real servers or subprocesses, Spark, torch or the real mlflow package; tests marked
# `slow` or `postgres` are heavy wherever they are.
HEAVY_MODULES = (  # node id prefixes: modules, or one test
    "tests/server/",
    "tests/compat/",
    "tests/integrations/test_spark.py",
    "tests/serving/test_server_process.py",
    "tests/serving/test_alias_following.py",
    "tests/serving/test_light.py",
    "tests/packaging/test_fresh_venv.py",
    "tests/packaging/test_onnx.py",
    "tests/models/test_mlflow_interop.py",
    "tests/models/flavors/test_onnx_pytorch.py",
    "tests/demo/test_run.py",
    "tests/demo/test_pages.py",
    "tests/test_examples.py",
    "tests/compat_scripts/",
    "tests/tracking/test_durability.py",
    "tests/tracking/test_reproduce.py",
    "tests/cli/test_reproduce.py",
    "tests/cli/test_serve.py::test_serve_with_two_workers",
    "tests/delivery/test_ci_example.py",
    "tests/delivery/test_validate.py",
    "tests/delivery/test_monitor.py",
    "tests/cli/test_validate.py",
    "tests/reliability/",  # real servers killed, databases restarted, disks filled, the API fuzzed
)


# In-process tests under the heavy prefixes above: fast, and part of test-fast.
LIGHT_MODULES = (
    "tests/server/auth/test_service.py",
    "tests/server/auth/test_permissions.py",
    "tests/server/test_api.py",
    "tests/server/test_compat_routes.py",
    "tests/reliability/test_properties.py",  # hypothesis properties of the parsers, in process
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(LIGHT_MODULES):
            continue
        marked = item.get_closest_marker("slow") or item.get_closest_marker("postgres")
        if marked or item.nodeid.startswith(HEAVY_MODULES):
            item.add_marker(pytest.mark.heavy)
