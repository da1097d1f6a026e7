"""``dockyard server`` and ``dockyard ui``: the tracking server, run by uvicorn in this process.

The CLI is the composition root: it opens the stores, builds the app with ``create_app`` and hands it
to uvicorn. With ``--workers N`` each worker process builds its own app (database engines must not
cross a fork) from the same picklable :class:`ServerOptions`; the schema is migrated once, in the
parent, before any worker starts.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.common import CONTEXT_SETTINGS, one_line, run_uvicorn
from dockyard.cli.startup import DatabaseUnreachable, listen, require_writable, require_writable_file
from dockyard.core.config import Settings, normalize_tracking_uri
from dockyard.core.errors import DockyardError, MissingExtra, StoreUnavailable

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
    auth: bool = False  # sign-in and permissions (server.auth)
    default_permission: str = "READ"  # what users may do where they hold no grant
    metrics_dir: str | None = None  # with --workers N: the folder the workers share their /metrics figures in


def build_app(options: ServerOptions) -> Starlette:
    """Open the stores the options name and build the app (called once per worker process)."""
    from dockyard.artifacts import artifact_store_for_uri
    from dockyard.db import Database
    from dockyard.registry.digests import proxied_store_opener
    from dockyard.registry.service import RegistryService
    from dockyard.registry.sql_store import SqlRegistryStore
    from dockyard.server.app import create_app
    from dockyard.server.metrics import ServerMetrics
    from dockyard.tracking.service import TrackingService
    from dockyard.tracking.sql_store import SqlTrackingStore

    root = experiment_root(options)
    db = Database(options.backend_store_uri)
    tracking = TrackingService(SqlTrackingStore(db, artifact_root=root))
    # One database for runs and registry. Clients do not say who they are, so the audit history
    # records "unknown" unless a call names its user_id.
    # The registry digests a new version's files; behind the proxy they live under the destination.
    opener = proxied_store_opener(options.artifacts_destination) if options.serve_artifacts else None
    registry = RegistryService(
        SqlRegistryStore(db),
        tracking=tracking,
        default_user=lambda: "unknown",
        settings=options.settings,
        open_artifacts=opener,
    )
    artifacts = artifact_store_for_uri(options.artifacts_destination) if options.serve_artifacts else None
    auth = None
    if options.auth:
        from dockyard.server.auth.entities import Permission
        from dockyard.server.auth.service import AuthService
        from dockyard.server.auth.store import SqlAuthStore

        auth = AuthService(SqlAuthStore(db), default_permission=Permission.parse(options.default_permission))
    metrics = ServerMetrics(pool=db.pool_status, shared_dir=options.metrics_dir)
    return create_app(
        options.settings, tracking=tracking, artifacts=artifacts, registry=registry, auth=auth, metrics=metrics
    )


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


def experiment_root(options: ServerOptions) -> str:
    """The artifact root of new experiments: ``--default-artifact-root``, else the proxy, else the destination."""
    if options.default_artifact_root:
        return options.default_artifact_root
    return PROXY_ROOT if options.serve_artifacts else options.artifacts_destination


def _names(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _absolute(root: str) -> str:
    """A root URI as given (``s3://...``, ``mlflow-artifacts:``), a path made absolute."""
    return root if ":" in root.split("/", 1)[0] else os.path.abspath(root)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def hardened(
    options: ServerOptions,
    host: str,
    *,
    allowed_hosts: str | None = None,
    cors_allowed_origins: str | None = None,
    artifact_roots: str | None = None,
    max_upload_bytes: int | None = None,
    access_log: bool | None = None,
) -> ServerOptions:
    """``options`` with the hardening options applied over the settings. Bound to a loopback address, the
    server answers only loopback names unless told otherwise, so a web page cannot reach it through DNS
    rebinding; clients may place experiments only under the server's own artifact root unless
    ``--artifact-roots`` says otherwise."""
    from dockyard.server.middleware import LOOPBACK_HOSTS, host_name

    settings = options.settings
    hosts = _names(allowed_hosts) if allowed_hosts is not None else settings.allowed_hosts
    if not hosts and _is_loopback(host):
        hosts = tuple(dict.fromkeys((*LOOPBACK_HOSTS, host_name(host))))
    roots = _names(artifact_roots) if artifact_roots is not None else settings.allowed_artifact_roots
    roots = tuple(map(_absolute, roots or (experiment_root(options),)))
    return replace(
        options,
        settings=replace(
            settings,
            allowed_hosts=hosts,
            cors_allowed_origins=(
                _names(cors_allowed_origins) if cors_allowed_origins is not None else settings.cors_allowed_origins
            ),
            allowed_artifact_roots=roots,
            max_upload_bytes=settings.max_upload_bytes if max_upload_bytes is None else max_upload_bytes,
            access_log=settings.access_log if access_log is None else access_log,
        ),
    )


def remove_stale_uploads(options: ServerOptions) -> int:
    """Delete the temporary files killed uploads left in a local artifact destination (an hour old)."""
    from dockyard.artifacts import LocalArtifactStore, artifact_store_for_uri

    if not options.serve_artifacts:
        return 0
    store = artifact_store_for_uri(options.artifacts_destination)
    return store.remove_stale_temp_files() if isinstance(store, LocalArtifactStore) else 0


def served_app(options: ServerOptions) -> Starlette:
    """``build_app`` with the server's log lines sent to stderr (what each worker process runs)."""
    from dockyard.server.middleware import configure_logging

    configure_logging(access_log=options.settings.access_log)
    return build_app(options)


def _serve(options: ServerOptions, host: str, port: int, workers: int, log_level: str, **hardening: Any) -> None:
    options = hardened(options, host, **hardening)
    try:
        import uvicorn  # noqa: F401  (missing: fail before opening the database)
    except ImportError:
        raise MissingExtra("uvicorn", "server") from None
    check_folders(options)
    try:
        app = served_app(options)  # opens and migrates the database: fail here, before listening
        generated = _first_admin(app, options)
    except StoreUnavailable as exc:
        # The driver's words (hidden from API callers) help the operator who started the server.
        cause = getattr(exc.__cause__, "orig", None) or exc.__cause__
        detail = f" ({one_line(str(cause))})" if cause is not None and str(cause).strip() else ""
        raise DatabaseUnreachable(one_line(exc.message) + detail) from None
    except DockyardError as exc:
        raise click.ClickException(one_line(exc.message)) from None
    sock = listen(host, port)  # a busy port fails here, before the banner
    port = sock.getsockname()[1]
    if generated:
        click.echo(
            f"Created the first admin, 'admin', with the password {generated} (shown this once: change it with "
            "'dockyard users set-password admin', or set DOCKYARD_AUTH_ADMIN_PASSWORD before the first start)",
            err=True,
        )
    if options.auth:
        click.echo(
            "Auth is on: every call signs in (users and permissions: dockyard users, dockyard tokens).", err=True
        )
    elif host in LOOPBACK:
        click.echo("Auth is off: only this machine can connect (use --auth to require sign-in).", err=True)
    else:
        click.echo(
            f"WARNING: auth is off and the server listens on {host}: anyone who reaches it may do anything.", err=True
        )
    click.echo(
        f"Dockyard {_version()} tracking server on http://{host}:{port} "
        f"(store {options.backend_store_uri}, "
        f"artifacts {options.artifacts_destination if options.serve_artifacts else 'not proxied'}, "
        f"{workers} worker{'s' if workers != 1 else ''})",
        err=True,
    )
    # A walk of the whole destination: in the background, so a big one does not delay the start.
    threading.Thread(target=remove_stale_uploads, args=(options,), name="dockyard-stale-uploads", daemon=True).start()
    if workers == 1:
        build = functools.partial(served_app, options)
        run_uvicorn(app, build, host=host, port=port, workers=1, log_level=log_level, sock=sock)
        return
    # The workers publish their figures here, so a scrape of /metrics answers for all of them.
    with tempfile.TemporaryDirectory(prefix="dockyard-server-metrics-") as shared:
        build = functools.partial(served_app, replace(options, metrics_dir=shared))
        run_uvicorn(app, build, host=host, port=port, workers=workers, log_level=log_level, sock=sock)


def check_folders(options: ServerOptions) -> None:
    """The SQLite database's folder and a local artifact destination accept a file (exit code 4 else)."""
    from dockyard.db.engine import sqlite_path

    if options.backend_store_uri.startswith("sqlite:"):
        path = sqlite_path(options.backend_store_uri)
        if path is not None:
            require_writable_file(path, "the database")
    if options.serve_artifacts and "://" not in options.artifacts_destination:
        require_writable(options.artifacts_destination, "the artifact destination")


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _first_admin(app: Starlette, options: ServerOptions) -> str | None:
    """With auth on an empty user table: create ``admin``; a generated password is returned to print once."""
    auth = app.state.ctx.auth
    return None if auth is None else auth.bootstrap_admin(options.settings.auth_admin_password)


def _version() -> str:
    from dockyard.__about__ import __version__

    return __version__


def _auth_permission_option(func: Any) -> Any:
    return click.option(
        "--auth-default-permission",
        default="READ",
        show_default=True,
        type=click.Choice(["READ", "EDIT", "MANAGE", "NO_PERMISSIONS"], case_sensitive=False),
        help="With auth: what users may do with experiments and models they hold no grant on.",
    )(func)


def _hardening_options(func: Any) -> Any:
    for decorator in reversed(
        [
            click.option(
                "--allowed-hosts",
                default=None,
                metavar="HOSTS",
                help="Host names the server answers, comma-separated ('*': any, '*.example.com': subdomains) "
                "[default: $DOCKYARD_ALLOWED_HOSTS, else localhost,127.0.0.1,[::1] on a loopback address, "
                "any host otherwise].",
            ),
            click.option(
                "--cors-allowed-origins",
                default=None,
                metavar="ORIGINS",
                help="Browser origins allowed to call the API (https://app.example.com), comma-separated; '*' "
                "for any, without credentials [default: $DOCKYARD_CORS_ALLOWED_ORIGINS, else none].",
            ),
            click.option(
                "--artifact-roots",
                default=None,
                metavar="ROOTS",
                help="Where clients may put a new experiment's artifacts (artifact_location), comma-separated "
                "[default: $DOCKYARD_ALLOWED_ARTIFACT_ROOTS, else the server's artifact root].",
            ),
            click.option(
                "--max-upload-bytes",
                default=None,
                type=click.IntRange(1, None),
                help="Largest artifact upload through the proxy, larger ones get 413 "
                "[default: $DOCKYARD_MAX_UPLOAD_BYTES, else 5 GiB].",
            ),
            click.option(
                "--access-log/--no-access-log",
                default=None,
                help="One log line per request: client, user, method, path, status, milliseconds "
                "[default: on, unless DOCKYARD_ACCESS_LOG=false].",
            ),
        ]
    ):
        func = decorator(func)
    return func


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
@click.option(
    "--auth/--no-auth",
    default=True,
    show_default=True,
    help="Require sign-in (Basic or an API token) and check permissions on every call.",
)
@_auth_permission_option
@_server_options
@_hardening_options
def server(
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    default_artifact_root: str | None,
    serve_artifacts: bool,
    auth: bool,
    auth_default_permission: str,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    **hardening: Any,
) -> None:
    """Run the tracking server: the MLflow REST API, so `mlflow` clients work against it unchanged.

    Point clients at it with DOCKYARD_TRACKING_URI=http://HOST:PORT (or MLFLOW_TRACKING_URI for
    MLflow's client).
    """
    options = _options(backend_store_uri, artifacts_destination, default_artifact_root, serve_artifacts)
    _serve(
        replace(options, auth=auth, default_permission=auth_default_permission),
        host,
        port,
        workers,
        log_level,
        **hardening,
    )


@click.command("ui", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--auth/--no-auth",
    default=None,
    help="Require sign-in (default: off on a loopback address, on otherwise).",
)
@_auth_permission_option
@_server_options
@_hardening_options
def ui(
    auth: bool | None,
    auth_default_permission: str,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    **hardening: Any,
) -> None:
    """Run the server on the local store (DOCKYARD_TRACKING_URI, else ./.dockyard/) to browse runs."""
    on = host not in LOOPBACK if auth is None else auth
    options = replace(_options(None, None, None, True), auth=on, default_permission=auth_default_permission)
    if not options.settings.allowed_artifact_roots:
        # The local store's runs and model versions keep their files in its artifacts folder (they were
        # logged without a server): the pages and downloads read them there, as well as behind the proxy.
        roots = (PROXY_ROOT, options.artifacts_destination)
        options = replace(options, settings=replace(options.settings, allowed_artifact_roots=roots))
    _serve(options, host, port, workers, log_level, **hardening)
