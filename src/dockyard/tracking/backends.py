"""Open the tracking backend a URI names: one service per store per process.

``sqlite:///...`` and ``postgresql://...`` give a local :class:`TrackingService` over
:class:`SqlTrackingStore`; ``http(s)://`` gives :class:`RemoteTrackingService` over the process's one
transport for that server. Engines are pooled, so a process opens each database once however many
clients it makes. Both satisfy :class:`~dockyard.tracking.protocol.TrackingAPI`.
"""

from __future__ import annotations

import os
import threading

from dockyard.core.config import Settings
from dockyard.core.credentials import Credentials
from dockyard.core.errors import InvalidParameter
from dockyard.core.transport import close_shared_transports, shared_transport
from dockyard.tracking.protocol import TrackingAPI

_lock = threading.Lock()
_services: dict[tuple[str, str], TrackingAPI] = {}


def default_artifact_root(settings: Settings) -> str:
    """Where new experiments keep artifacts: the configured root, else ``artifacts/`` beside the file."""
    if settings.artifact_root:
        return settings.artifact_root
    from dockyard.db.engine import sqlite_path

    uri = settings.tracking_uri
    if uri.startswith("sqlite:"):
        path = sqlite_path(uri)
        if path is not None:
            return str(path.resolve().parent / "artifacts")
    return os.path.abspath(os.path.join(".dockyard", "artifacts"))


def credentials(settings: Settings) -> Credentials:
    """How this process signs in to an http(s) tracking server (DOCKYARD_TRACKING_USERNAME/PASSWORD/TOKEN)."""
    return Credentials(settings.tracking_username, settings.tracking_password, settings.tracking_token)


def open_tracking(settings: Settings) -> TrackingAPI:
    uri = settings.tracking_uri
    scheme = uri.split(":", 1)[0].split("+", 1)[0]
    if scheme in ("http", "https"):
        with _lock:
            remote = _services.get((uri, ""))
            if remote is None:
                from dockyard.tracking.remote import RemoteTrackingService

                remote = _services[(uri, "")] = RemoteTrackingService(
                    uri, transport=shared_transport(uri, credentials(settings))
                )
            return remote
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise InvalidParameter(
            f"tracking_uri {uri!r}: unsupported scheme {scheme!r} (use a path, sqlite:///..., postgresql://...)"
        )
    root = default_artifact_root(settings)
    key = (uri, root)
    with _lock:
        service = _services.get(key)
        if service is None:
            from dockyard.db import Database
            from dockyard.tracking.service import TrackingService
            from dockyard.tracking.sql_store import SqlTrackingStore

            service = TrackingService(SqlTrackingStore(Database(uri), artifact_root=root))
            _services[key] = service
        return service


def close_all() -> None:
    """Dispose every engine and HTTP pool this process opened (tests; processes switching stores)."""
    from dockyard.artifacts.http import close_clients
    from dockyard.tracking.service import TrackingService
    from dockyard.tracking.sql_store import SqlTrackingStore

    with _lock:
        for service in _services.values():
            if isinstance(service, TrackingService) and isinstance(service.store, SqlTrackingStore):
                service.store.db.dispose()
            service.close()
        _services.clear()
    close_shared_transports()
    close_clients()
