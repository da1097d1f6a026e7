"""Pick the artifact store for a URI by its scheme.

Stores register a factory per scheme in :data:`ARTIFACT_STORE_FACTORIES` (or with
:func:`register_artifact_store`), so new schemes need no change to :func:`artifact_store_for_uri`.
A URI without a scheme (or with a one-letter one, i.e. a Windows drive) is a local path.

>>> import tempfile
>>> artifact_store_for_uri(tempfile.mkdtemp()).__class__.__name__
'LocalArtifactStore'
>>> artifact_store_for_uri("mlflow-artifacts:/1/r/artifacts", tracking_uri="http://host:5000").root_uri
'http://host:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from dockyard.artifacts.base import ArtifactStore
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.core.errors import InvalidParameter

__all__ = [
    "ARTIFACT_STORE_FACTORIES",
    "artifact_store_for_uri",
    "join_location",
    "register_artifact_store",
    "uri_scheme",
]

ArtifactStoreFactory = Callable[[str], ArtifactStore]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def uri_scheme(uri: str) -> str:
    """The lower-case scheme of ``uri``; ``""`` for a plain path, including ``C:\\\\x`` drive paths."""
    match = _SCHEME.match(uri)
    if match is None or len(match.group(1)) == 1:
        return ""
    return match.group(1).lower()


def _local(uri: str) -> ArtifactStore:
    return LocalArtifactStore(uri)


def _http(uri: str) -> ArtifactStore:
    from dockyard.artifacts.http import HttpArtifactStore

    return HttpArtifactStore(uri)


def _s3(uri: str) -> ArtifactStore:
    from dockyard.artifacts.s3 import S3ArtifactStore

    return S3ArtifactStore(uri)


# scheme -> factory taking the full URI.
ARTIFACT_STORE_FACTORIES: dict[str, ArtifactStoreFactory] = {
    "": _local,
    "file": _local,
    "s3": _s3,
    "http": _http,
    "https": _http,
}


def register_artifact_store(scheme: str, factory: ArtifactStoreFactory) -> None:
    """Make ``artifact_store_for_uri`` hand URIs of ``scheme`` to ``factory`` (replacing any previous)."""
    ARTIFACT_STORE_FACTORIES[scheme.lower()] = factory


def artifact_store_for_uri(uri: str, *, tracking_uri: str | None = None) -> ArtifactStore:
    """The artifact store rooted at ``uri``; InvalidParameter for an empty URI or an unknown scheme.

    ``mlflow-artifacts:`` URIs are first resolved against ``tracking_uri`` (the server's address) to the
    server's artifact-proxy URL, as MLflow's client does.
    """
    if not isinstance(uri, str) or not uri:
        raise InvalidParameter(f"artifact URI must be a non-empty string, got {uri!r}")
    scheme = uri_scheme(uri)
    if scheme == "mlflow-artifacts":
        from dockyard.artifacts.http import resolve_proxy_uri

        uri = resolve_proxy_uri(uri, tracking_uri)
        scheme = uri_scheme(uri)
    factory = ARTIFACT_STORE_FACTORIES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(s for s in ARTIFACT_STORE_FACTORIES if s))
        raise InvalidParameter(f"artifact URI {uri!r}: unsupported scheme {scheme!r} (supported: {known})")
    return factory(uri)


def join_location(location: str, *parts: str) -> str:
    """An artifact location below ``location``: joined with "/" for a URI (``s3://``,
    ``mlflow-artifacts:``), with the OS's separator for a local path.

    >>> join_location("mlflow-artifacts:", "1")
    'mlflow-artifacts:/1'
    >>> join_location("s3://bucket/p/", "1", "abc", "artifacts")
    's3://bucket/p/1/abc/artifacts'
    """
    if uri_scheme(location):
        return "/".join([location.rstrip("/"), *parts])
    return os.path.join(location, *parts)
