"""Open the tracking backend a URI names: one service per store per process.

``sqlite:///...`` and ``postgresql://...`` give a local :class:`TrackingService` over
:class:`SqlTrackingStore`; ``http(s)://`` will give the remote client (server issue). Engines are
pooled, so a process opens each database once however many clients it makes.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, cast

from dockyard.config import Settings
from dockyard.errors import InvalidParameter

if TYPE_CHECKING:
    from dockyard.tracking.service import TrackingService

_lock = threading.Lock()
_services: dict[tuple[str, str], TrackingService] = {}


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


def open_tracking(settings: Settings) -> TrackingService:
    uri = settings.tracking_uri
    scheme = uri.split(":", 1)[0].split("+", 1)[0]
    if scheme in ("http", "https"):
        with _lock:
            remote = _services.get((uri, ""))
            if remote is None:
                from dockyard.tracking.remote import RemoteTrackingService

                # Same surface as the local service, checked by the same contract suite.
                remote = _services[(uri, "")] = cast("TrackingService", RemoteTrackingService(uri))
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
    with _lock:
        for service in _services.values():
            store = getattr(service, "store", None)
            if store is not None:
                store.db.dispose()
            else:
                service.close()  # type: ignore[attr-defined]  # the remote client
        _services.clear()
    from dockyard.artifacts.http import close_clients

    close_clients()
