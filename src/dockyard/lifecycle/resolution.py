"""Resolve model URIs against the tracking store, the registry and artifact stores.

:mod:`dockyard.models` is a leaf that only understands local paths; it hands every other scheme to the
``fetch`` function here (registered in ``pyproject.toml`` under ``dockyard.model_uri_schemes``):

- ``runs:/<run>/<path>``: the run's logged model named ``path`` (MLflow 3), else ``<run artifacts>/<path>``;
- ``models:/m-<id>``: the logged model's artifact location;
- ``models:/<name>/<version>``, ``@<alias>``, ``/<stage>``, ``/latest``: the registry's version, whose
  source is resolved again (a :class:`~dockyard.models.uris.RegisteredModelLookup`);
- artifact URIs (``s3://``, ``mlflow-artifacts:/``, ``http(s)://``).

A location on the local disk is used in place. Anything else is downloaded into the model cache
(``DOCKYARD_MODEL_CACHE``) under a key computed from its ``MLmodel`` and its file list, so the same
model is downloaded once however often it is loaded.

A registered version (``models:/<name>/...``) is checked after the download, before anything loads it:
its files must be the ones whose digest the registry recorded when the version was created
(:mod:`dockyard.models.digest`), else :class:`~dockyard.core.errors.ModelIntegrityError` names the first
file that differs. A version registered before digests existed has none and is not checked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.artifacts.registry import artifact_store_for_uri, join_location, uri_scheme
from dockyard.core.errors import ArtifactNotFound, InvalidModel, InvalidParameter, ModelVersionNotFound
from dockyard.lifecycle.fluent import current_client
from dockyard.models.digest import verify
from dockyard.models.uris import ModelUri, RegisteredModelLookup, parse_model_uri
from dockyard.registry.backends import open_registry

if TYPE_CHECKING:
    from dockyard.artifacts import ArtifactStore
    from dockyard.lifecycle.client import Client
    from dockyard.registry.entities import ModelVersion
    from dockyard.registry.protocol import RegistryAPI
    from dockyard.tracking.entities import LoggedModel, Run

_COMPLETE = ".dockyard-complete"
_MAX_DEPTH = 8  # registry sources that point at registry URIs: refuse loops


class ModelResolver:
    """Turns a model URI into a local model directory, through one client (and registry lookup)."""

    def __init__(self, client: Client, registry: RegisteredModelLookup | None = None) -> None:
        self.client = client
        self.registry = registry

    def location(self, uri: str, depth: int = 0) -> str:
        """Where the model's files are: a local path or an artifact URI."""
        if depth > _MAX_DEPTH:
            raise InvalidParameter(f"model_uri {uri!r}: registry sources refer to each other in a loop")
        parsed = parse_model_uri(uri)
        if parsed.kind == "path":
            return parsed.path or ""
        if parsed.kind == "artifact":
            return parsed.uri
        if parsed.kind == "logged_model":
            assert parsed.model_id is not None  # noqa: S101  for mypy: parse_model_uri sets model_id on every logged_model URI
            return self.client.get_logged_model(parsed.model_id).artifact_location
        if parsed.kind == "run":
            return self._run_location(parsed)
        lookup = self.registry or _default_registry(self.client)
        source, _version = lookup(parsed)
        return self.location(source, depth + 1)

    def run_logged_model(self, run: Run, name: str) -> LoggedModel | None:
        """MLflow 3: ``runs:/<run>/<name>`` means the run's logged model of that name, the newest if several."""
        named = [m for m in (self.client.get_logged_model(o.model_id) for o in run.outputs) if m.name == name]
        return max(named, key=lambda m: m.creation_timestamp) if named else None

    def _run_location(self, parsed: ModelUri) -> str:
        assert parsed.run_id is not None and parsed.path is not None  # noqa: S101  for mypy: parse_model_uri sets both on every runs:/ URI
        run = self.client.get_run(parsed.run_id)
        logged = self.run_logged_model(run, parsed.path)
        if logged is not None:
            return logged.artifact_location
        return join_location(run.info.artifact_uri, parsed.path)

    def fetch(self, uri: str, dst_path: Path | None = None) -> Path:
        """The local model directory of ``uri``; a registered version's files verified against its digest."""
        parsed = parse_model_uri(uri)
        if parsed.kind != "registered":
            return self._fetch_location(uri, self.location(uri), dst_path)
        lookup = self.registry or _default_registry(self.client)
        if isinstance(lookup, RegistryLookup):
            found = lookup.version(parsed)
            source, number, tags = str(found.source), int(found.version), dict(found.tags)
        else:  # a bare (source, version) seam knows no tags: nothing to verify against
            source, number = lookup(parsed)
            tags = {}
        directory = self._fetch_location(uri, self.location(source, 1), dst_path)
        verify(directory, tags, f"models:/{parsed.name}/{number}", ignore=(_COMPLETE,))
        return directory

    def _fetch_location(self, uri: str, location: str, dst_path: Path | None) -> Path:
        if uri_scheme(location) in ("", "file"):
            local = Path(location[7:] if location.startswith("file://") else location)
            if not (local / "MLmodel").is_file():
                raise InvalidModel(f"{uri} ({local}) is not a model directory: missing file MLmodel")
            if dst_path is None:
                return local
            target = Path(dst_path) / local.name
            shutil.copytree(local, target, dirs_exist_ok=True)
            return target
        store = artifact_store_for_uri(location, tracking_uri=self.client.tracking_uri)
        return download_cached(store, uri, self.client.settings.model_cache_dir if dst_path is None else dst_path)


def _walk(store: ArtifactStore, path: str = "") -> list[tuple[str, int]]:
    out = []
    for info in store.list(path or None):
        if info.is_dir:
            out.extend(_walk(store, info.path))
        else:
            out.append((info.path, int(info.file_size or 0)))
    return out


def download_cached(store: ArtifactStore, uri: str, cache: Path) -> Path:
    """Download the model at ``store``'s root into ``cache/<content key>`` unless it is there already."""
    try:
        with store.open_read("MLmodel") as fh:
            manifest = fh.read()
    except ArtifactNotFound:
        raise InvalidModel(f"{uri} is not a model: missing file MLmodel") from None
    files = sorted(_walk(store))
    digest = hashlib.sha256(manifest)
    for path, size in files:
        digest.update(f"\0{path}\0{size}".encode())
    target = Path(cache) / digest.hexdigest()[:32]
    if (target / _COMPLETE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    try:
        store.download("", staging)
        (staging / _COMPLETE).write_text(uri)
        try:
            staging.rename(target)
        except OSError:  # another process finished the same download first
            if not (target / _COMPLETE).is_file():
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _default_registry(client: Client) -> RegisteredModelLookup:
    """The registry of the client's settings (``DOCKYARD_REGISTRY_URI``), as a lookup."""
    return registry_lookup(open_registry(client.settings))


class RegistryLookup:
    """The seam over a registry service (local or remote): name + version/alias/stage/latest -> source.

    Called, it gives ``(source, version)`` (a :class:`~dockyard.models.uris.RegisteredModelLookup`);
    :meth:`version` gives the whole version, whose tags hold the digest a load verifies.
    """

    def __init__(self, registry: RegistryAPI) -> None:
        self.registry = registry

    def version(self, parsed: ModelUri) -> ModelVersion:
        name = parsed.name or ""
        if parsed.version is not None:
            return self.registry.get_model_version(name, str(parsed.version))
        if parsed.alias is not None:
            return self.registry.get_model_version_by_alias(name, parsed.alias)
        stages = [parsed.stage] if parsed.stage else []
        versions = self.registry.get_latest_versions(name, stages)
        if not versions:
            what = f"in stage {parsed.stage}" if parsed.stage else "at all"
            raise ModelVersionNotFound(f"registered model {name!r} has no version {what}")
        return max(versions, key=lambda v: int(v.version))

    def __call__(self, parsed: ModelUri, /) -> tuple[str, int]:
        found = self.version(parsed)
        return str(found.source), int(found.version)


def registry_lookup(registry: RegistryAPI) -> RegistryLookup:
    """The lookup over ``registry`` (a :class:`~dockyard.registry.protocol.RegistryAPI`)."""
    return RegistryLookup(registry)


def resolver() -> ModelResolver:
    return ModelResolver(current_client())


def fetch(uri: str, dst_path: Path | None = None) -> Path:
    """The entry point ``dockyard.models`` calls for ``runs:``, ``models:`` and artifact URIs."""
    return resolver().fetch(uri, dst_path)


def model_location(uri: str | os.PathLike[str]) -> str:
    """Where the files of the model ``uri`` names live (no download)."""
    return resolver().location(os.fspath(uri))
