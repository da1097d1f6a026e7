"""Settings: one frozen object built at the edges (CLI, fluent API, tests).

This is the only module that reads ``os.environ``; everything below receives a :class:`Settings`.

>>> s = Settings.from_env({"DOCKYARD_TRACKING_URI": "sqlite:////tmp/x.db"})
>>> s.tracking_uri, s.registry_uri
('sqlite:////tmp/x.db', 'sqlite:////tmp/x.db')
>>> Settings.from_env({}, cwd="/proj").tracking_uri
'sqlite:////proj/.dockyard/dockyard.db'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidParameter

# Every environment variable Dockyard reads, with its meaning (docs/configuration.md lists the same;
# a test keeps them in step).
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "DOCKYARD_TRACKING_URI": "Where runs are stored: a path, sqlite:///..., postgresql://... or http(s)://.",
    "DOCKYARD_REGISTRY_URI": "Where the model registry lives; defaults to the tracking URI.",
    "DOCKYARD_ARTIFACT_ROOT": "Default artifact root for new experiments of a database-backed store.",
    "DOCKYARD_ASYNC_LOGGING": "'false' makes metric, param and tag calls synchronous (default 'true').",
    "DOCKYARD_FLUSH_INTERVAL": "Seconds between background flushes of queued logging calls (default 1.0).",
    "DOCKYARD_LOG_QUEUE_SIZE": "Queued logging calls before callers block (back-pressure; default 100000).",
    "DOCKYARD_CAPTURE_CONTEXT": "'false' turns off git/packages/host capture on new runs (default 'true').",
    "DOCKYARD_MAX_REQUEST_BYTES": "Largest JSON request body the server accepts, in bytes (default 33554432).",
    "DOCKYARD_MAX_UPLOAD_BYTES": "Largest artifact upload through the server's proxy, in bytes (default 5 GiB).",
    "DOCKYARD_ALLOWED_HOSTS": "Host names the server answers, comma-separated ('*': any; default by bind address).",
    "DOCKYARD_CORS_ALLOWED_ORIGINS": "Browser origins allowed to call it (CORS), comma-separated (default: none).",
    "DOCKYARD_ALLOWED_ARTIFACT_ROOTS": "Where clients may put new experiments' artifacts (default: the server's root).",
    "DOCKYARD_ACCESS_LOG": "'false' turns off the server's access log (default 'true').",
    "DOCKYARD_MAX_INFLIGHT_BYTES": "Request bytes dockyard serve holds at once before answering 503 (default 256 MiB).",
    "DOCKYARD_MODEL_CACHE": "Where downloaded models are cached by content (default ~/.cache/dockyard/models).",
    "DOCKYARD_ALLOW_PICKLE": "'true' loads models that run code when loaded: pickles, code/ (default 'false').",
    "DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING": "'true' samples CPU, memory (and GPU) into every run (default 'false').",
    "DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL": "Seconds between system metrics samples (default 10.0).",
    "DOCKYARD_RUN_ID": "A run for the first start_run() of the process to resume (set by dockyard runs reproduce).",
    "DOCKYARD_WEBHOOK_ALLOWED_HOSTS": "Comma-separated hosts, IPs or networks webhooks may reach though not public.",
    "DOCKYARD_SECRET_KEY": "The server key that encrypts webhook secrets (default: generated into the data folder).",
    "DOCKYARD_TRACKING_USERNAME": "User name for a tracking server run with auth (else MLFLOW_TRACKING_USERNAME).",
    "DOCKYARD_TRACKING_PASSWORD": "Password for a tracking server run with auth (else MLFLOW_TRACKING_PASSWORD).",
    "DOCKYARD_TRACKING_TOKEN": "API token for a tracking server run with auth (else MLFLOW_TRACKING_TOKEN).",
    "DOCKYARD_AUTH_ADMIN_PASSWORD": "Password of the first admin, created at a server's first start with auth.",
}

DEFAULT_DIR = ".dockyard"


def subprocess_environment(*, without: tuple[str, ...] = ()) -> dict[str, str]:
    """A copy of this process's environment for a child process, less the names in ``without``.

    >>> "DOCKYARD_RUN_ID" in subprocess_environment(without=("DOCKYARD_RUN_ID",))
    False
    """
    return {k: v for k, v in os.environ.items() if k not in without}


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InvalidParameter(f"{name}={raw!r} is not a boolean (use true or false)")


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidParameter(f"{name}={raw!r} is not a number") from None
    if not value >= minimum:
        raise InvalidParameter(f"{name}={raw!r} must be at least {minimum}")
    if value == float("inf"):
        raise InvalidParameter(f"{name}={raw!r} is not a finite number")
    return value


def allow_pickle_from_env(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment opts in to loading models that run code when loaded: DOCKYARD_ALLOW_PICKLE,
    or MLflow's MLFLOW_ALLOW_MODEL_CODE_EXECUTION (and its older MLFLOW_ALLOW_PICKLE_DESERIALIZATION), so a
    deployment set up for MLflow keeps its choice.

    >>> allow_pickle_from_env({}), allow_pickle_from_env({"MLFLOW_ALLOW_MODEL_CODE_EXECUTION": "true"})
    (False, True)
    """
    env = os.environ if env is None else env
    names = ("DOCKYARD_ALLOW_PICKLE", "MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "MLFLOW_ALLOW_PICKLE_DESERIALIZATION")
    return any(_bool(env, name, False) for name in names)


def _integer(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    value = float(_number(env, name, default, minimum=minimum))
    if not value.is_integer():
        raise InvalidParameter(f"{name}={env.get(name)!r} is not a whole number")
    return int(value)


def _first(env: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` set to a non-empty value."""
    return next((env[n] for n in names if env.get(n)), None)


def _names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list, stripped, without empty items."""
    return tuple(item.strip() for item in (env.get(name) or "").split(",") if item.strip())


def _artifact_roots(env: Mapping[str, str], base: Path) -> tuple[str, ...]:
    """DOCKYARD_ALLOWED_ARTIFACT_ROOTS: URIs as given, plain paths made absolute against ``base``."""
    import re

    roots = []
    for item in _names(env, "DOCKYARD_ALLOWED_ARTIFACT_ROOTS"):
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", item):  # a scheme (two letters at least: not a drive)
            roots.append(item)
        else:
            roots.append(os.path.normpath(base / Path(item).expanduser()))
    return tuple(roots)


def _file_uri_path(uri: str) -> str:
    """The local path of a ``file:`` URI (``file:/p``, ``file:///p``, ``file://localhost/p``)."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise InvalidParameter(f"tracking_uri {uri!r}: file URIs must name a local path")
    return unquote(parsed.path)


# MLflow's MLFLOW_TRACKING_URI, read when DOCKYARD_TRACKING_URI is unset, so a script moved from MLflow
# reaches the same server or database. MLflow's file store (file:, bare folders) and hosted schemes
# (databricks) are not stores Dockyard opens: those values are left to MLflow.
_MLFLOW_URI_SCHEMES = ("http://", "https://", "sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")


def _mlflow_uri_usable(uri: str | None) -> bool:
    """
    >>> _mlflow_uri_usable("http://tracking:5000"), _mlflow_uri_usable("file:./mlruns"), _mlflow_uri_usable(None)
    (True, False, False)
    """
    return bool(uri) and str(uri).strip().lower().startswith(_MLFLOW_URI_SCHEMES)


def normalize_tracking_uri(uri: str, *, cwd: str | os.PathLike[str] | None = None) -> str:
    """Turn a plain path into ``sqlite:///abs/path``; leave URIs with a scheme alone.

    A directory (or a path without a ``.db`` suffix that does not exist yet) means ``<dir>/dockyard.db``.

    >>> normalize_tracking_uri("/tmp/store.db")
    'sqlite:////tmp/store.db'
    >>> normalize_tracking_uri("http://host:5000")
    'http://host:5000'
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidParameter("tracking_uri must be a non-empty string")
    uri = uri.strip()
    if uri.startswith("file:"):
        uri = _file_uri_path(uri)
    elif "://" in uri or uri.startswith("sqlite:"):
        return uri
    base = Path(cwd) if cwd is not None else Path.cwd()
    path = (base / Path(uri).expanduser()).resolve()
    if path.is_dir() or (path.suffix not in (".db", ".sqlite", ".sqlite3") and not path.exists()):
        path = path / "dockyard.db"
    return f"sqlite:///{path}"


def _named(normalize: Any, name: str, raw: str, base: Path) -> str:
    try:
        return normalize(raw, cwd=base)  # type: ignore[no-any-return]
    except InvalidParameter as exc:
        raise InvalidParameter(f"{name}: {exc.message}") from None


@dataclass(frozen=True)
class Settings:
    tracking_uri: str
    registry_uri: str
    artifact_root: str | None = None  # None: next to the SQLite file, or ./.dockyard/artifacts
    async_logging: bool = True
    flush_interval: float = 1.0
    log_queue_size: int = 100_000
    capture_context: bool = True
    max_request_bytes: int = 32 * 1024 * 1024  # JSON API bodies; artifact uploads have max_upload_bytes
    max_upload_bytes: int = 5 * 1024**3  # one artifact upload through the server's proxy (streamed)
    allowed_hosts: tuple[str, ...] = ()  # Host names the server answers; (): any (the CLI picks by bind address)
    cors_allowed_origins: tuple[str, ...] = ()  # browser origins that may call the server; (): none
    allowed_artifact_roots: tuple[str, ...] = ()  # where clients may put experiments; (): the server's own root
    access_log: bool = True  # the server logs one line per request on the logger "dockyard.access"
    max_inflight_bytes: int = 256 * 1024 * 1024  # dockyard serve: request bytes held at once, then 503
    model_cache: str = ""  # "": ~/.cache/dockyard/models (see model_cache_dir)
    allow_pickle: bool = False  # load models that run code when loaded (pickles, code/); see allow_pickle_from_env
    enable_system_metrics_logging: bool = False
    system_metrics_sampling_interval: float = 10.0
    run_id: str | None = None  # the first top-level start_run() resumes this run (MLflow's MLFLOW_RUN_ID)
    webhook_allowed_hosts: tuple[str, ...] = ()  # non-public webhook destinations allowed anyway
    secret_key: str | None = field(default=None, repr=False)  # None: a key file in the data folder
    # Credentials for an http(s) tracking server run with auth: Basic, or a bearer API token.
    tracking_username: str | None = None
    tracking_password: str | None = field(default=None, repr=False)
    tracking_token: str | None = field(default=None, repr=False)
    auth_admin_password: str | None = field(default=None, repr=False)  # the first admin's, at first start

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, cwd: str | os.PathLike[str] | None = None) -> Settings:
        env = os.environ if env is None else env
        base = Path(cwd) if cwd is not None else Path.cwd()
        name, raw_tracking = "DOCKYARD_TRACKING_URI", env.get("DOCKYARD_TRACKING_URI")
        if not raw_tracking and _mlflow_uri_usable(env.get("MLFLOW_TRACKING_URI")):
            name, raw_tracking = "MLFLOW_TRACKING_URI", env["MLFLOW_TRACKING_URI"]
        tracking = _named(normalize_tracking_uri, name, raw_tracking or str(base / DEFAULT_DIR / "dockyard.db"), base)
        registry = env.get("DOCKYARD_REGISTRY_URI")
        return cls(
            tracking_uri=tracking,
            registry_uri=_named(normalize_tracking_uri, "DOCKYARD_REGISTRY_URI", registry, base)
            if registry
            else tracking,
            artifact_root=env.get("DOCKYARD_ARTIFACT_ROOT") or None,
            async_logging=_bool(env, "DOCKYARD_ASYNC_LOGGING", True),
            flush_interval=_number(env, "DOCKYARD_FLUSH_INTERVAL", 1.0, minimum=0.001),
            log_queue_size=_integer(env, "DOCKYARD_LOG_QUEUE_SIZE", 100_000, minimum=1),
            capture_context=_bool(env, "DOCKYARD_CAPTURE_CONTEXT", True),
            max_request_bytes=_integer(env, "DOCKYARD_MAX_REQUEST_BYTES", 32 * 1024 * 1024, minimum=1024),
            max_upload_bytes=_integer(env, "DOCKYARD_MAX_UPLOAD_BYTES", 5 * 1024**3, minimum=1),
            allowed_hosts=_names(env, "DOCKYARD_ALLOWED_HOSTS"),
            cors_allowed_origins=_names(env, "DOCKYARD_CORS_ALLOWED_ORIGINS"),
            allowed_artifact_roots=_artifact_roots(env, base),
            access_log=_bool(env, "DOCKYARD_ACCESS_LOG", True),
            max_inflight_bytes=_integer(env, "DOCKYARD_MAX_INFLIGHT_BYTES", 256 * 1024 * 1024, minimum=1024),
            model_cache=str((base / Path(env["DOCKYARD_MODEL_CACHE"]).expanduser()).resolve())
            if env.get("DOCKYARD_MODEL_CACHE")
            else "",
            allow_pickle=allow_pickle_from_env(env),
            enable_system_metrics_logging=_bool(env, "DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING", False),
            system_metrics_sampling_interval=_number(
                env, "DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL", 10.0, minimum=0.01
            ),
            run_id=(env.get("DOCKYARD_RUN_ID") or "").strip() or None,
            webhook_allowed_hosts=tuple(
                h.strip() for h in env.get("DOCKYARD_WEBHOOK_ALLOWED_HOSTS", "").split(",") if h.strip()
            ),
            secret_key=env.get("DOCKYARD_SECRET_KEY") or None,
            tracking_username=_first(env, "DOCKYARD_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME"),
            tracking_password=_first(env, "DOCKYARD_TRACKING_PASSWORD", "MLFLOW_TRACKING_PASSWORD"),
            tracking_token=_first(env, "DOCKYARD_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN"),
            auth_admin_password=env.get("DOCKYARD_AUTH_ADMIN_PASSWORD") or None,
        )

    @property
    def model_cache_dir(self) -> Path:
        return Path(self.model_cache) if self.model_cache else Path("~/.cache/dockyard/models").expanduser()

    def with_tracking_uri(self, uri: str) -> Settings:
        """A copy pointing at another store (the registry follows unless it was set separately)."""
        tracking = normalize_tracking_uri(uri)
        registry = tracking if self.registry_uri == self.tracking_uri else self.registry_uri
        return replace(self, tracking_uri=tracking, registry_uri=registry)
