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
from dataclasses import dataclass, replace
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
    "DOCKYARD_MODEL_CACHE": "Where downloaded models are cached by content (default ~/.cache/dockyard/models).",
    "DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING": "'true' samples CPU, memory (and GPU) into every run (default 'false').",
    "DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL": "Seconds between system metrics samples (default 10.0).",
    "DOCKYARD_RUN_ID": "A run for the first start_run() of the process to resume (set by dockyard runs reproduce).",
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


def _integer(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    value = float(_number(env, name, default, minimum=minimum))
    if not value.is_integer():
        raise InvalidParameter(f"{name}={env.get(name)!r} is not a whole number")
    return int(value)


def _file_uri_path(uri: str) -> str:
    """The local path of a ``file:`` URI (``file:/p``, ``file:///p``, ``file://localhost/p``)."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise InvalidParameter(f"tracking_uri {uri!r}: file URIs must name a local path")
    return unquote(parsed.path)


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
    max_request_bytes: int = 32 * 1024 * 1024  # JSON API bodies; artifact uploads stream and have no cap
    model_cache: str = ""  # "": ~/.cache/dockyard/models (see model_cache_dir)
    enable_system_metrics_logging: bool = False
    system_metrics_sampling_interval: float = 10.0
    run_id: str | None = None  # the first top-level start_run() resumes this run (MLflow's MLFLOW_RUN_ID)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, cwd: str | os.PathLike[str] | None = None) -> Settings:
        env = os.environ if env is None else env
        base = Path(cwd) if cwd is not None else Path.cwd()
        raw_tracking = env.get("DOCKYARD_TRACKING_URI") or str(base / DEFAULT_DIR / "dockyard.db")
        tracking = _named(normalize_tracking_uri, "DOCKYARD_TRACKING_URI", raw_tracking, base)
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
            model_cache=str((base / Path(env["DOCKYARD_MODEL_CACHE"]).expanduser()).resolve())
            if env.get("DOCKYARD_MODEL_CACHE")
            else "",
            enable_system_metrics_logging=_bool(env, "DOCKYARD_ENABLE_SYSTEM_METRICS_LOGGING", False),
            system_metrics_sampling_interval=_number(
                env, "DOCKYARD_SYSTEM_METRICS_SAMPLING_INTERVAL", 10.0, minimum=0.01
            ),
            run_id=(env.get("DOCKYARD_RUN_ID") or "").strip() or None,
        )

    @property
    def model_cache_dir(self) -> Path:
        return Path(self.model_cache) if self.model_cache else Path("~/.cache/dockyard/models").expanduser()

    def with_tracking_uri(self, uri: str) -> Settings:
        """A copy pointing at another store (the registry follows unless it was set separately)."""
        tracking = normalize_tracking_uri(uri)
        registry = tracking if self.registry_uri == self.tracking_uri else self.registry_uri
        return replace(self, tracking_uri=tracking, registry_uri=registry)
