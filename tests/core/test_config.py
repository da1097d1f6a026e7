from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from dockyard.core.config import DEFAULT_DIR, ENVIRONMENT_VARIABLES, Settings, normalize_tracking_uri
from dockyard.core.errors import InvalidParameter

PG = "postgresql://user:secret@db.example.com:5432/dockyard"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A resolved folder to use as ``cwd`` (so expected URIs compare exactly)."""
    folder = (tmp_path / "proj").resolve()
    folder.mkdir()
    return folder


# ---------------------------------------------------------------------- defaults


def test_defaults_with_empty_env(base: Path) -> None:
    s = Settings.from_env({}, cwd=base)
    expected = f"sqlite:///{base}/.dockyard/dockyard.db"
    assert s == Settings(
        tracking_uri=expected,
        registry_uri=expected,
        artifact_root=None,
        async_logging=True,
        flush_interval=1.0,
        log_queue_size=100_000,
        capture_context=True,
    )
    assert type(s.log_queue_size) is int
    assert type(s.flush_interval) is float


def test_default_dir_constant() -> None:
    assert DEFAULT_DIR == ".dockyard"


def test_default_for_nonexistent_cwd() -> None:
    assert Settings.from_env({}, cwd="/proj").tracking_uri == "sqlite:////proj/.dockyard/dockyard.db"


def test_default_does_not_create_the_folder(base: Path) -> None:
    Settings.from_env({}, cwd=base)
    assert not (base / ".dockyard").exists()


def test_default_cwd_is_process_cwd() -> None:
    # conftest chdirs into a fresh folder per test
    cwd = Path.cwd().resolve()
    s = Settings.from_env({})
    assert s.tracking_uri == f"sqlite:///{cwd}/.dockyard/dockyard.db"


def test_env_none_reads_os_environ(monkeypatch: pytest.MonkeyPatch, base: Path) -> None:
    monkeypatch.setenv("DOCKYARD_TRACKING_URI", PG)
    monkeypatch.setenv("DOCKYARD_FLUSH_INTERVAL", "2.5")
    s = Settings.from_env(cwd=base)
    assert s.tracking_uri == PG
    assert s.flush_interval == 2.5


def test_os_environ_without_dockyard_variables_gives_defaults(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_MODEL_CACHE")  # the autouse fixture points it at the test's folder
    assert Settings.from_env(cwd=base) == Settings.from_env({}, cwd=base)


def test_model_cache(base: Path) -> None:
    assert Settings.from_env({}, cwd=base).model_cache_dir == Path("~/.cache/dockyard/models").expanduser()
    s = Settings.from_env({"DOCKYARD_MODEL_CACHE": "cache"}, cwd=base)
    assert s.model_cache_dir == base.resolve() / "cache"


def test_unknown_variables_are_ignored(base: Path) -> None:
    env = {"DOCKYARD_NOT_A_SETTING": "x", "MLFLOW_EXPERIMENT_NAME": "x"}
    assert Settings.from_env(env, cwd=base) == Settings.from_env({}, cwd=base)


def test_mlflow_tracking_uri_is_read_when_dockyard_s_is_unset(base: Path) -> None:
    assert Settings.from_env({"MLFLOW_TRACKING_URI": "http://tracking:5000"}, cwd=base).tracking_uri == (
        "http://tracking:5000"
    )
    both = {"MLFLOW_TRACKING_URI": "http://tracking:5000", "DOCKYARD_TRACKING_URI": PG}
    assert (
        Settings.from_env(both, cwd=base).tracking_uri == Settings.from_env({"DOCKYARD_TRACKING_URI": PG}).tracking_uri
    )
    # MLflow's file store and hosted schemes are MLflow's own: left alone.
    for value in ("file:./mlruns", "./mlruns", "databricks"):
        assert Settings.from_env({"MLFLOW_TRACKING_URI": value}, cwd=base) == Settings.from_env({}, cwd=base)


def test_settings_is_frozen(base: Path) -> None:
    s = Settings.from_env({}, cwd=base)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.tracking_uri = "sqlite:///other.db"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"DOCKYARD_ALLOW_PICKLE": "true"}, True),
        ({"DOCKYARD_ALLOW_PICKLE": "false"}, False),
        ({"MLFLOW_ALLOW_MODEL_CODE_EXECUTION": "true"}, True),  # MLflow's switch is honoured
        ({"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "1"}, True),  # and its older name
        ({"MLFLOW_ALLOW_MODEL_CODE_EXECUTION": "false"}, False),
    ],
)
def test_allow_pickle(base: Path, env: dict[str, str], expected: bool) -> None:
    assert Settings.from_env(env, cwd=base).allow_pickle is expected


def test_allow_pickle_must_be_a_boolean(base: Path) -> None:
    with pytest.raises(InvalidParameter, match="DOCKYARD_ALLOW_PICKLE='maybe' is not a boolean"):
        Settings.from_env({"DOCKYARD_ALLOW_PICKLE": "maybe"}, cwd=base)


def test_environment_variables_registry() -> None:
    assert set(ENVIRONMENT_VARIABLES) == {
        "DOCKYARD_TRACKING_URI",
        "DOCKYARD_REGISTRY_URI",
        "DOCKYARD_ARTIFACT_ROOT",
        "DOCKYARD_ASYNC_LOGGING",
        "DOCKYARD_FLUSH_INTERVAL",
        "DOCKYARD_LOG_QUEUE_SIZE",
        "DOCKYARD_CAPTURE_CONTEXT",
        "DOCKYARD_MAX_REQUEST_BYTES",
        "DOCKYARD_MAX_UPLOAD_BYTES",
        "DOCKYARD_ALLOWED_HOSTS",
        "DOCKYARD_CORS_ALLOWED_ORIGINS",
        "DOCKYARD_ALLOWED_ARTIFACT_ROOTS",
        "DOCKYARD_ACCESS_LOG",
        "DOCKYARD_MAX_INFLIGHT_BYTES",
        "DOCKYARD_MODEL_CACHE",
        "DOCKYARD_ALLOW_PICKLE",
        "DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING",
        "DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL",
        "DOCKYARD_RUN_ID",
        "DOCKYARD_WEBHOOK_ALLOWED_HOSTS",
        "DOCKYARD_SECRET_KEY",
        "DOCKYARD_TRACKING_USERNAME",
        "DOCKYARD_TRACKING_PASSWORD",
        "DOCKYARD_TRACKING_TOKEN",
        "DOCKYARD_AUTH_ADMIN_PASSWORD",
    }
    for name, meaning in ENVIRONMENT_VARIABLES.items():
        assert name.startswith("DOCKYARD_")
        assert meaning.strip()


# ---------------------------------------------------------------------- DOCKYARD_TRACKING_URI


@pytest.mark.parametrize(
    ("raw", "relative"),
    [
        ("store.db", "store.db"),
        ("sub/store.db", "sub/store.db"),
        ("./sub/../store.db", "store.db"),
        ("store.sqlite", "store.sqlite"),
        ("store.sqlite3", "store.sqlite3"),
        ("newdir", "newdir/dockyard.db"),
        ("newdir/", "newdir/dockyard.db"),
        ("a/b/c", "a/b/c/dockyard.db"),
        (".", "dockyard.db"),
    ],
)
def test_tracking_uri_relative_path_resolves_against_cwd(base: Path, raw: str, relative: str) -> None:
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": raw}, cwd=base)
    assert s.tracking_uri == f"sqlite:///{base}/{relative}"
    assert s.registry_uri == s.tracking_uri


def test_tracking_uri_absolute_path(base: Path, tmp_path: Path) -> None:
    target = tmp_path.resolve() / "elsewhere" / "x.db"
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": str(target)}, cwd=base)
    assert s.tracking_uri == f"sqlite:///{target}"


def test_tracking_uri_existing_directory_means_dockyard_db_inside(base: Path) -> None:
    (base / "store.db").mkdir()  # a directory, even with a .db name
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": "store.db"}, cwd=base)
    assert s.tracking_uri == f"sqlite:///{base}/store.db/dockyard.db"


def test_tracking_uri_existing_file_without_db_suffix_is_used_as_is(base: Path) -> None:
    (base / "mystore").write_bytes(b"")
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": "mystore"}, cwd=base)
    assert s.tracking_uri == f"sqlite:///{base}/mystore"


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:////abs/path/x.db",
        "sqlite:///relative.db",
        "sqlite:///:memory:",
        "sqlite://",
        PG,
        "postgresql+psycopg://u@h/db",
        "postgres://u@h/db",
        "http://localhost:5000",
        "https://tracking.example.com",
    ],
)
def test_tracking_uri_with_scheme_is_kept(base: Path, uri: str) -> None:
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": uri}, cwd=base)
    assert s.tracking_uri == uri
    assert s.registry_uri == uri


def test_tracking_uri_is_stripped(base: Path) -> None:
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": f"  {PG}\n"}, cwd=base)
    assert s.tracking_uri == PG


def test_empty_tracking_uri_means_default(base: Path) -> None:
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": ""}, cwd=base)
    assert s.tracking_uri == f"sqlite:///{base}/.dockyard/dockyard.db"


def test_blank_tracking_uri_error_names_the_variable(base: Path) -> None:
    with pytest.raises(InvalidParameter, match="DOCKYARD_TRACKING_URI"):
        Settings.from_env({"DOCKYARD_TRACKING_URI": "   "}, cwd=base)


# ---------------------------------------------------------------------- registry and artifact root


def test_registry_defaults_to_tracking(base: Path) -> None:
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": PG}, cwd=base)
    assert s.registry_uri == PG


def test_empty_registry_defaults_to_tracking(base: Path) -> None:
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": PG, "DOCKYARD_REGISTRY_URI": ""}, cwd=base)
    assert s.registry_uri == PG


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u@h/registry", "postgresql://u@h/registry"),
        ("http://registry:5000", "http://registry:5000"),
        ("registry.db", "sqlite:///{base}/registry.db"),
        ("regdir", "sqlite:///{base}/regdir/dockyard.db"),
    ],
)
def test_registry_set_separately_is_normalized(base: Path, raw: str, expected: str) -> None:
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": PG, "DOCKYARD_REGISTRY_URI": raw}, cwd=base)
    assert s.tracking_uri == PG
    assert s.registry_uri == expected.format(base=base)


@pytest.mark.parametrize(
    ("raw", "expected"), [("", None), ("/data/artifacts", "/data/artifacts"), ("s3://b/p", "s3://b/p")]
)
def test_artifact_root(base: Path, raw: str, expected: str | None) -> None:
    assert Settings.from_env({"DOCKYARD_ARTIFACT_ROOT": raw}, cwd=base).artifact_root == expected


# ---------------------------------------------------------------------- booleans


BOOL_VARS = [("DOCKYARD_ASYNC_LOGGING", "async_logging"), ("DOCKYARD_CAPTURE_CONTEXT", "capture_context")]


@pytest.mark.parametrize(("var", "attr"), BOOL_VARS)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("yes", True),
        ("on", True),
        ("  On  ", True),
        ("0", False),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("off", False),
        (" Off\n", False),
        ("", True),
    ],
)
def test_boolean_parsing(base: Path, var: str, attr: str, raw: str, expected: bool) -> None:
    s = Settings.from_env({var: raw}, cwd=base)
    assert getattr(s, attr) is expected


@pytest.mark.parametrize(("var", "attr"), BOOL_VARS)
@pytest.mark.parametrize("raw", ["maybe", "2", "t", "y", "enabled", "   ", "-1", "truee"])
def test_invalid_boolean_names_the_variable(base: Path, var: str, attr: str, raw: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        Settings.from_env({var: raw}, cwd=base)
    assert info.value.message == f"{var}={raw!r} is not a boolean (use true or false)"


# ---------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2.5", 2.5), ("1", 1.0), (" 3 ", 3.0), ("0.001", 0.001), ("1e-3", 0.001), ("60", 60.0), ("", 1.0)],
)
def test_flush_interval(base: Path, raw: str, expected: float) -> None:
    s = Settings.from_env({"DOCKYARD_FLUSH_INTERVAL": raw}, cwd=base)
    assert s.flush_interval == expected
    assert type(s.flush_interval) is float


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", 1), ("500", 500), ("1e5", 100_000), (" 42 ", 42), ("1_000", 1000), ("", 100_000)]
)
def test_log_queue_size(base: Path, raw: str, expected: int) -> None:
    s = Settings.from_env({"DOCKYARD_LOG_QUEUE_SIZE": raw}, cwd=base)
    assert s.log_queue_size == expected
    assert type(s.log_queue_size) is int


@pytest.mark.parametrize(
    ("var", "raw", "reason"),
    [
        ("DOCKYARD_FLUSH_INTERVAL", "fast", "is not a number"),
        ("DOCKYARD_FLUSH_INTERVAL", "1s", "is not a number"),
        ("DOCKYARD_FLUSH_INTERVAL", "   ", "is not a number"),
        ("DOCKYARD_FLUSH_INTERVAL", "0", "must be at least 0.001"),
        ("DOCKYARD_FLUSH_INTERVAL", "0.0009", "must be at least 0.001"),
        ("DOCKYARD_FLUSH_INTERVAL", "-1", "must be at least 0.001"),
        ("DOCKYARD_FLUSH_INTERVAL", "nan", "must be at least 0.001"),
        ("DOCKYARD_FLUSH_INTERVAL", "-inf", "must be at least 0.001"),
        ("DOCKYARD_LOG_QUEUE_SIZE", "many", "is not a number"),
        ("DOCKYARD_LOG_QUEUE_SIZE", "10k", "is not a number"),
        ("DOCKYARD_LOG_QUEUE_SIZE", "0", "must be at least 1"),
        ("DOCKYARD_LOG_QUEUE_SIZE", "-5", "must be at least 1"),
        ("DOCKYARD_LOG_QUEUE_SIZE", "0.5", "must be at least 1"),
        ("DOCKYARD_LOG_QUEUE_SIZE", "NaN", "must be at least 1"),
    ],
)
def test_invalid_number_names_the_variable(base: Path, var: str, raw: str, reason: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        Settings.from_env({var: raw}, cwd=base)
    assert info.value.message.startswith(f"{var}={raw!r} ")
    assert reason in info.value.message


@pytest.mark.parametrize("raw", ["inf", "1e400"])
def test_infinite_queue_size_is_invalid_parameter(base: Path, raw: str) -> None:
    with pytest.raises(InvalidParameter, match="DOCKYARD_LOG_QUEUE_SIZE"):
        Settings.from_env({"DOCKYARD_LOG_QUEUE_SIZE": raw}, cwd=base)


@pytest.mark.parametrize("raw", ["1.5", "99.9"])
def test_fractional_queue_size_is_rejected(base: Path, raw: str) -> None:
    with pytest.raises(InvalidParameter, match="DOCKYARD_LOG_QUEUE_SIZE"):
        Settings.from_env({"DOCKYARD_LOG_QUEUE_SIZE": raw}, cwd=base)


def test_system_metrics_settings(base: Path) -> None:
    default = Settings.from_env({}, cwd=base)
    assert (default.enable_system_metrics_logging, default.system_metrics_sampling_interval) == (False, 10.0)
    s = Settings.from_env(
        {"DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING": "true", "DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL": "0.5"},
        cwd=base,
    )
    assert (s.enable_system_metrics_logging, s.system_metrics_sampling_interval) == (True, 0.5)
    for raw in ("0", "-1", "fast"):
        with pytest.raises(InvalidParameter, match="DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL"):
            Settings.from_env({"DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL": raw}, cwd=base)
    with pytest.raises(InvalidParameter, match="DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING"):
        Settings.from_env({"DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING": "sometimes"}, cwd=base)


def test_run_id(base: Path) -> None:
    assert Settings.from_env({}, cwd=base).run_id is None
    assert Settings.from_env({"DOCKYARD_RUN_ID": " "}, cwd=base).run_id is None
    assert Settings.from_env({"DOCKYARD_RUN_ID": "abc123 "}, cwd=base).run_id == "abc123"


def test_every_setting_together(base: Path) -> None:
    env = {
        "DOCKYARD_TRACKING_URI": PG,
        "DOCKYARD_REGISTRY_URI": "http://reg:5000",
        "DOCKYARD_ARTIFACT_ROOT": "s3://bucket/artifacts",
        "DOCKYARD_ASYNC_LOGGING": "false",
        "DOCKYARD_FLUSH_INTERVAL": "0.25",
        "DOCKYARD_LOG_QUEUE_SIZE": "1000",
        "DOCKYARD_CAPTURE_CONTEXT": "0",
    }
    assert Settings.from_env(env, cwd=base) == Settings(
        tracking_uri=PG,
        registry_uri="http://reg:5000",
        artifact_root="s3://bucket/artifacts",
        async_logging=False,
        flush_interval=0.25,
        log_queue_size=1000,
        capture_context=False,
    )


# ---------------------------------------------------------------------- with_tracking_uri


def test_with_tracking_uri_moves_registry_along(base: Path) -> None:
    s = Settings.from_env({}, cwd=base).with_tracking_uri(PG)
    assert (s.tracking_uri, s.registry_uri) == (PG, PG)


def test_with_tracking_uri_keeps_separate_registry(base: Path) -> None:
    s = Settings.from_env({"DOCKYARD_REGISTRY_URI": "http://reg:5000"}, cwd=base).with_tracking_uri(PG)
    assert (s.tracking_uri, s.registry_uri) == (PG, "http://reg:5000")


def test_with_tracking_uri_keeps_other_fields_and_returns_copy(base: Path) -> None:
    original = Settings.from_env(
        {"DOCKYARD_ASYNC_LOGGING": "off", "DOCKYARD_FLUSH_INTERVAL": "3", "DOCKYARD_ARTIFACT_ROOT": "/art"}, cwd=base
    )
    moved = original.with_tracking_uri(PG)
    assert moved is not original
    assert original.tracking_uri == f"sqlite:///{base}/.dockyard/dockyard.db"
    assert (
        dataclasses.replace(moved, tracking_uri=original.tracking_uri, registry_uri=original.registry_uri) == original
    )


def test_with_tracking_uri_normalizes_a_path_against_process_cwd(base: Path) -> None:
    cwd = Path.cwd().resolve()
    s = Settings.from_env({}, cwd=base).with_tracking_uri("runs.db")
    assert s.tracking_uri == f"sqlite:///{cwd}/runs.db"
    assert s.registry_uri == s.tracking_uri


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_with_tracking_uri_rejects_empty(base: Path, bad: object) -> None:
    with pytest.raises(InvalidParameter, match="tracking_uri"):
        Settings.from_env({}, cwd=base).with_tracking_uri(bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- normalize_tracking_uri


@pytest.mark.parametrize("bad", ["", " ", "\n\t", None, 1, b"/tmp/x.db", Path("/tmp/x.db")])
def test_normalize_rejects_non_strings_and_blanks(bad: object) -> None:
    with pytest.raises(InvalidParameter) as info:
        normalize_tracking_uri(bad)  # type: ignore[arg-type]
    assert info.value.message == "tracking_uri must be a non-empty string"


def test_normalize_absolute_db_file() -> None:
    assert normalize_tracking_uri("/tmp/store.db") == "sqlite:////tmp/store.db"


def test_normalize_file_uri_triple_slash(base: Path) -> None:
    assert normalize_tracking_uri(f"file://{base}/x.db") == f"sqlite:///{base}/x.db"
    assert normalize_tracking_uri(f"file://{base}") == f"sqlite:///{base}/dockyard.db"


def test_normalize_file_uri_with_a_host_is_refused(base: Path) -> None:
    # "file://rel.db" names host "rel.db", not a relative path: refuse it rather than guess
    with pytest.raises(InvalidParameter, match="local path"):
        normalize_tracking_uri("file://rel.db", cwd=base)


@pytest.mark.parametrize(
    "form", ["file:{path}", "file://localhost{path}", "as_uri"], ids=["single-slash", "localhost", "percent"]
)
def test_normalize_other_file_uri_forms(base: Path, form: str) -> None:
    target = base / "my store.db"
    uri = target.as_uri() if form == "as_uri" else form.format(path=target)
    assert normalize_tracking_uri(uri) == f"sqlite:///{target}"


def test_normalize_tilde_expands_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = (tmp_path / "home").resolve()
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert normalize_tracking_uri("~/runs.db") == f"sqlite:///{home}/runs.db"
    assert normalize_tracking_uri("~") == f"sqlite:///{home}/dockyard.db"
    assert normalize_tracking_uri("~/newdir") == f"sqlite:///{home}/newdir/dockyard.db"


def test_normalize_tilde_in_env_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base: Path) -> None:
    home = (tmp_path / "home").resolve()
    monkeypatch.setenv("HOME", str(home))
    s = Settings.from_env({"DOCKYARD_TRACKING_URI": "~/.dockyard/x.db"}, cwd=base)
    assert s.tracking_uri == f"sqlite:///{home}/.dockyard/x.db"


def test_normalize_dir_vs_db_file(base: Path) -> None:
    (base / "existing").mkdir()
    (base / "plainfile").write_text("")
    assert normalize_tracking_uri("existing", cwd=base) == f"sqlite:///{base}/existing/dockyard.db"
    assert normalize_tracking_uri("plainfile", cwd=base) == f"sqlite:///{base}/plainfile"
    assert normalize_tracking_uri("missing", cwd=base) == f"sqlite:///{base}/missing/dockyard.db"
    assert normalize_tracking_uri("missing.db", cwd=base) == f"sqlite:///{base}/missing.db"
    assert normalize_tracking_uri("missing.txt", cwd=base) == f"sqlite:///{base}/missing.txt/dockyard.db"


def test_normalize_cwd_defaults_to_process_cwd() -> None:
    cwd = Path.cwd().resolve()
    assert normalize_tracking_uri("x.db") == f"sqlite:///{cwd}/x.db"


def test_normalize_cwd_accepts_str_and_pathlike(base: Path) -> None:
    assert normalize_tracking_uri("x.db", cwd=str(base)) == normalize_tracking_uri("x.db", cwd=base)


def test_normalize_absolute_path_ignores_cwd(base: Path, tmp_path: Path) -> None:
    target = tmp_path.resolve() / "abs.db"
    assert normalize_tracking_uri(str(target), cwd=base) == f"sqlite:///{target}"


def test_normalize_resolves_symlinks(base: Path) -> None:
    real = base / "real"
    real.mkdir()
    (base / "link").symlink_to(real, target_is_directory=True)
    assert normalize_tracking_uri("link", cwd=base) == f"sqlite:///{real}/dockyard.db"


@pytest.mark.parametrize(
    "uri",
    ["sqlite:relative.db", "sqlite:///x.db", "postgresql://h/db", "HTTP://host", "s3://bucket/key", "foo://bar"],
)
def test_normalize_leaves_scheme_uris_alone(uri: str) -> None:
    assert normalize_tracking_uri(uri) == uri


def test_normalize_is_idempotent(base: Path) -> None:
    once = normalize_tracking_uri("some/dir", cwd=base)
    assert normalize_tracking_uri(once, cwd=base) == once


def test_normalize_never_creates_files(base: Path) -> None:
    normalize_tracking_uri("a/b/c.db", cwd=base)
    normalize_tracking_uri("d/e", cwd=base)
    assert os.listdir(base) == []


# ---------------------------------------------------------------------- webhooks


def test_webhook_settings() -> None:
    s = Settings.from_env(
        {"DOCKYARD_WEBHOOK_ALLOWED_HOSTS": " ci.internal, 127.0.0.1 ,,10.0.0.0/8", "DOCKYARD_SECRET_KEY": "k" * 32}
    )
    assert s.webhook_allowed_hosts == ("ci.internal", "127.0.0.1", "10.0.0.0/8")
    assert s.secret_key == "k" * 32 and "k" * 32 not in repr(s)  # never in a log line or a traceback
    assert (Settings.from_env({}).webhook_allowed_hosts, Settings.from_env({}).secret_key) == ((), None)
