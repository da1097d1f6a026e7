"""Open the registry a settings object names: one service per store per process.

``sqlite:///...`` and ``postgresql://...`` give a local :class:`RegistryService` over
:class:`SqlRegistryStore`; when the registry URI is the tracking URI, it shares the tracking service's
database (one engine, one connection pool) and uses that tracking service to resolve ``runs:/`` and
``models:/m-...`` sources. ``http(s)://`` gives :class:`RemoteRegistryService`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, cast

from dockyard.config import Settings
from dockyard.errors import InvalidParameter

if TYPE_CHECKING:
    from dockyard.registry.service import RegistryService

_lock = threading.Lock()
_services: dict[str, RegistryService] = {}


def open_registry(settings: Settings) -> RegistryService:
    uri = settings.registry_uri
    scheme = uri.split(":", 1)[0].split("+", 1)[0]
    with _lock:
        service = _services.get(uri)
        if service is not None:
            return service
    if scheme in ("http", "https"):
        from dockyard.registry.remote import RemoteRegistryService

        # Same surface as the local service, checked by the same contract suite.
        service = cast("RegistryService", RemoteRegistryService(uri))
    elif scheme in ("sqlite", "postgresql", "postgres"):
        service = _local(settings)
    else:
        raise InvalidParameter(
            f"registry_uri {uri!r}: unsupported scheme {scheme!r} (use a path, sqlite:///..., postgresql://... "
            "or http(s)://)"
        )
    with _lock:
        return _services.setdefault(uri, service)


def _local(settings: Settings) -> RegistryService:
    from dockyard.registry.service import RegistryService
    from dockyard.registry.sql_store import SqlRegistryStore

    if settings.registry_uri == settings.tracking_uri:
        from dockyard.tracking.backends import open_tracking

        tracking = open_tracking(settings)
        store = getattr(tracking, "store", None)
        db = getattr(store, "db", None)
        if db is not None:
            return RegistryService(SqlRegistryStore(db), tracking=tracking)
    from dockyard.db import Database

    return RegistryService(SqlRegistryStore(Database(settings.registry_uri)))


def close_all() -> None:
    """Forget every registry this process opened: let queued webhook deliveries finish, then dispose
    the engines and HTTP pools it owns (an engine shared with the tracking service is the tracking
    backend's to close)."""
    with _lock:
        services = list(_services.values())
        _services.clear()
    for service in services:
        service.close()
        store = getattr(service, "store", None)
        if store is not None and service.tracking is None:
            store.db.dispose()
