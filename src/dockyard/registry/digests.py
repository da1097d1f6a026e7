"""The content digest a new model version records (see :mod:`dockyard.models.digest`).

:meth:`~dockyard.registry.service.RegistryService.create_model_version` reads the version's files at its
storage location through the artifact store and records their digest as reserved tags; a ``models:/``
load verifies it. A location that holds no ``MLmodel`` (a source that is not a model directory) records
nothing, and so does one that cannot be read (logged as a warning): such a version loads unchecked, as
versions registered before digests did.

A tracking server that proxies artifacts stores models at ``mlflow-artifacts:/<path>``, which only it
can map to its ``--artifacts-destination``: it passes :func:`proxied_store_opener` to the service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from dockyard.artifacts.base import ArtifactStore, check_artifact_path
from dockyard.artifacts.registry import artifact_store_for_uri, join_location, uri_scheme
from dockyard.core.errors import InvalidParameter
from dockyard.models.digest import digest_tags, file_digest
from dockyard.registry.validation import MAX_TAG_VALUE_LENGTH

log = logging.getLogger("dockyard.registry")

StoreOpener = Callable[[str], ArtifactStore]  # storage location -> the artifact store rooted there

PROXY_SCHEME = "mlflow-artifacts"


def stored_files(store: ArtifactStore, path: str = "") -> dict[str, str]:
    """path -> sha256 of every file below ``path`` in ``store`` (paths relative to its root)."""
    files: dict[str, str] = {}
    for info in store.list(path or None):
        if info.is_dir:
            files.update(stored_files(store, info.path))
        else:
            with store.open_read(info.path) as fh:
                files[info.path] = file_digest(fh)
    return files


def version_digest_tags(location: str | None, open_store: StoreOpener = artifact_store_for_uri) -> dict[str, str]:
    """The reserved digest tags of the model at ``location``; ``{}`` when there is none to record."""
    if not location:
        return {}
    try:
        store = open_store(location)
        if not any(info.path == "MLmodel" and not info.is_dir for info in store.list()):
            return {}
        files = stored_files(store)
    except Exception as exc:  # any store's failure (a DockyardError, OSError, S3's own): register unchecked
        log.warning(
            "could not read the model files at %s to record their digest (%s); it will load unchecked", location, exc
        )
        return {}
    return digest_tags(files, max_value_length=MAX_TAG_VALUE_LENGTH)


def proxied_store_opener(destination: str) -> StoreOpener:
    """An opener for a server whose ``mlflow-artifacts:/<path>`` lives at ``<destination>/<path>``; it
    opens nothing outside the destination (a client names a version's source: the server reads only its
    own artifacts for it).

    >>> opener = proxied_store_opener("/srv/artifacts")
    >>> opener("mlflow-artifacts:/1/models/m-1/artifacts").root_uri.endswith("/srv/artifacts/1/models/m-1/artifacts")
    True
    >>> opener("/etc")
    Traceback (most recent call last):
    ...
    dockyard.core.errors.InvalidParameter: '/etc' is not in this server's artifact store
    """
    root = destination.rstrip("/")

    def open_store(location: str) -> ArtifactStore:
        if uri_scheme(location) == PROXY_SCHEME:
            path = check_artifact_path(urlsplit(location).path.strip("/"), field="source")
            return artifact_store_for_uri(join_location(destination, path) if path else destination)
        if location.rstrip("/") == root or (location.startswith(root + "/") and ".." not in location.split("/")):
            return artifact_store_for_uri(location)
        raise InvalidParameter(f"{location!r} is not in this server's artifact store")

    return open_store
