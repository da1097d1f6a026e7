"""Open the registry a settings object names: one service per store per process.

``sqlite:///...`` and ``postgresql://...`` give a local :class:`RegistryService` over
:class:`SqlRegistryStore`; when the registry URI is the tracking URI, it shares the tracking service's
database (one engine, one connection pool) and uses that tracking service to resolve ``runs:/`` and
``models:/m-...`` sources. ``http(s)://`` gives :class:`RemoteRegistryService` over the transport the
tracking client of the same server uses. Both satisfy :class:`~dockyard.registry.protocol.RegistryAPI`.
"""

from __future__ import annotations

import threading

from dockyard.core.config import Settings
from dockyard.core.errors import InvalidParameter
from dockyard.core.transport import shared_transport
from dockyard.registry.protocol import RegistryAPI
from dockyard.tracking.backends import credentials, open_tracking

_lock = threading.Lock()
_services: dict[str, RegistryAPI] = {}


def open_registry(settings: Settings) -> RegistryAPI:
    uri = settings.registry_uri
    scheme = uri.split(":", 1)[0].split("+", 1)[0]
    with _lock:
        service = _services.get(uri)
        if service is not None:
            return service
    if scheme in ("http", "https"):
        from dockyard.registry.remote import RemoteRegistryService

        service = RemoteRegistryService(uri, transport=shared_transport(uri, credentials(settings)))
    elif scheme in ("sqlite", "postgresql", "postgres"):
        service = _local(settings)
    else:
        raise InvalidParameter(
            f"registry_uri {uri!r}: unsupported scheme {scheme!r} (use a path, sqlite:///..., postgresql://... "
            "or http(s)://)"
        )
    with _lock:
        return _services.setdefault(uri, service)


def _local(settings: Settings) -> RegistryAPI:
    # SQLAlchemy and the stores load when a local registry is first opened, not on import.
    from dockyard.db import Database
    from dockyard.registry.service import RegistryService
    from dockyard.registry.sql_store import SqlRegistryStore
    from dockyard.tracking.service import TrackingService
    from dockyard.tracking.sql_store import SqlTrackingStore

    if settings.registry_uri == settings.tracking_uri:
        tracking = open_tracking(settings)
        if isinstance(tracking, TrackingService) and isinstance(tracking.store, SqlTrackingStore):
            return RegistryService(SqlRegistryStore(tracking.store.db), tracking=tracking, settings=settings)

    return RegistryService(SqlRegistryStore(Database(settings.registry_uri)), settings=settings)


def close_all() -> None:
    """Forget every registry this process opened: let queued webhook deliveries finish, then dispose
    the engines and HTTP pools it owns (an engine shared with the tracking service is the tracking
    backend's to close)."""
    with _lock:
        services = list(_services.values())
        _services.clear()
    from dockyard.registry.service import RegistryService
    from dockyard.registry.sql_store import SqlRegistryStore

    for service in services:
        service.close()
        if (
            isinstance(service, RegistryService)
            and service.tracking is None
            and isinstance(service.store, SqlRegistryStore)
        ):
            service.store.db.dispose()
