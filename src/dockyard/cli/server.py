"""``dockyard server`` and ``dockyard ui``: the tracking server, run by uvicorn in this process.

The CLI is the composition root: it opens the stores, builds the app with ``create_app`` and hands it
to uvicorn. With ``--workers N`` each worker process builds its own app (database engines must not
cross a fork) from the same picklable :class:`ServerOptions`; the schema is migrated once, in the
parent, before any worker starts.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.common import CONTEXT_SETTINGS, run_uvicorn
from dockyard.core.config import Settings, normalize_tracking_uri
from dockyard.core.errors import DockyardError, MissingExtra

if TYPE_CHECKING:
    from starlette.applications import Starlette

PROXY_ROOT = "mlflow-artifacts:"


@dataclass(frozen=True)
class ServerOptions:
    settings: Settings
    backend_store_uri: str
    artifacts_destination: str
    default_artifact_root: str | None
    serve_artifacts: bool


def build_app(options: ServerOptions) -> Starlette:
    """Open the stores the options name and build the app (called once per worker process)."""
    from dockyard.artifacts import artifact_store_for_uri
    from dockyard.db import Database
    from dockyard.registry.service import RegistryService
    from dockyard.registry.sql_store import SqlRegistryStore
    from dockyard.server.app import create_app
    from dockyard.tracking.service import TrackingService
    from dockyard.tracking.sql_store import SqlTrackingStore

    if options.default_artifact_root:
        root = options.default_artifact_root
    elif options.serve_artifacts:
        root = PROXY_ROOT
    else:
        root = options.artifacts_destination
    db = Database(options.backend_store_uri)
    tracking = TrackingService(SqlTrackingStore(db, artifact_root=root))
    # One database for runs and registry. Clients do not say who they are, so the audit history
    # records "unknown" unless a call names its user_id.
    registry = RegistryService(SqlRegistryStore(db), tracking=tracking, default_user=lambda: "unknown")
    artifacts = artifact_store_for_uri(options.artifacts_destination) if options.serve_artifacts else None
    return create_app(options.settings, tracking=tracking, artifacts=artifacts, registry=registry)


def _options(
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    default_artifact_root: str | None,
    serve_artifacts: bool,
) -> ServerOptions:
    settings = Settings.from_env()
    backend = normalize_tracking_uri(backend_store_uri) if backend_store_uri else settings.tracking_uri
    if backend.startswith(("http://", "https://")):
        raise click.BadParameter(
            "the backend store must be a database, not another server", param_hint="--backend-store-uri"
        )
    if artifacts_destination is None:
        from dockyard.tracking.backends import default_artifact_root as local_root

        artifacts_destination = local_root(settings.with_tracking_uri(backend))
    elif "://" not in artifacts_destination:
        artifacts_destination = os.path.abspath(artifacts_destination)
    return ServerOptions(
        settings=settings.with_tracking_uri(backend),
        backend_store_uri=backend,
        artifacts_destination=artifacts_destination,
        default_artifact_root=default_artifact_root,
        serve_artifacts=serve_artifacts,
    )


def _serve(options: ServerOptions, host: str, port: int, workers: int, log_level: str) -> None:
    try:
        import uvicorn  # noqa: F401  (missing: fail before opening the database)
    except ImportError:
        raise MissingExtra("uvicorn", "server") from None
    try:
        app = build_app(options)  # opens and migrates the database: fail here, before listening
    except DockyardError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"Dockyard {_version()} tracking server on http://{host}:{port} "
        f"(store {options.backend_store_uri}, "
        f"artifacts {options.artifacts_destination if options.serve_artifacts else 'not proxied'}, "
        f"{workers} worker{'s' if workers != 1 else ''})",
        err=True,
    )
    run_uvicorn(app, functools.partial(build_app, options), host=host, port=port, workers=workers, log_level=log_level)


def _version() -> str:
    from dockyard.__about__ import __version__

    return __version__


def _server_options(func: Any) -> Any:
    for decorator in reversed(
        [
            click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on."),
            click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port."),
            click.option(
                "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
            ),
            click.option(
                "--log-level",
                default="warning",
                show_default=True,
                type=click.Choice(["critical", "error", "warning", "info", "debug"]),
                help="uvicorn's log level.",
            ),
        ]
    ):
        func = decorator(func)
    return func


@click.command("server", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--backend-store-uri",
    default=None,
    help="Database: a path, sqlite:///... or postgresql://... (default: the tracking URI).",
)
@click.option(
    "--artifacts-destination",
    default=None,
    help="Where proxied artifacts are stored: a folder or s3://bucket/prefix "
    "(default: artifacts/ next to the database).",
)
@click.option(
    "--default-artifact-root",
    default=None,
    help="Artifact root for new experiments "
    "(default: mlflow-artifacts:/ when proxying, so clients go through the server).",
)
@click.option(
    "--serve-artifacts/--no-serve-artifacts",
    default=True,
    show_default=True,
    help="Proxy artifact uploads and downloads through the server.",
)
@_server_options
def server(
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    default_artifact_root: str | None,
    serve_artifacts: bool,
    host: str,
    port: int,
    workers: int,
    log_level: str,
) -> None:
    """Run the tracking server: the MLflow REST API, so `mlflow` clients work against it unchanged.

    Point clients at it with DOCKYARD_TRACKING_URI=http://HOST:PORT (or MLFLOW_TRACKING_URI for
    MLflow's client).
    """
    _serve(
        _options(backend_store_uri, artifacts_destination, default_artifact_root, serve_artifacts),
        host,
        port,
        workers,
        log_level,
    )


@click.command("ui", context_settings=CONTEXT_SETTINGS)
@_server_options
def ui(host: str, port: int, workers: int, log_level: str) -> None:
    """Run the server on the local store (DOCKYARD_TRACKING_URI, else ./.dockyard/) to browse runs."""
    _serve(_options(None, None, None, True), host, port, workers, log_level)
