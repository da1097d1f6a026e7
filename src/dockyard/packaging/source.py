"""The model a bundle ships: any model URI resolved to a local directory, with what it is.

``models:/NAME/...`` (a version, an alias, a stage, ``latest``) names a registered version: its files are
fetched and checked against the digest the registry recorded when the version was created (the same check
as any ``models:/`` load, :mod:`dockyard.models.digest`), and the bundle keeps the digest, the name and
the version. ``runs:/``, ``models:/m-...``, artifact URIs and folders are fetched as they are; their
digest is computed from the files, for the bundle's labels and README.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.models.digest import DIGEST_TAG, directory_files, manifest_digest, verify
from dockyard.models.manifest import MLMODEL, Model
from dockyard.models.uris import parse_model_uri

if TYPE_CHECKING:
    from dockyard.lifecycle.client import Client

COMPLETE_MARKER = ".dockyard-complete"  # the model cache's marker: never part of a model's files


@dataclass(frozen=True)
class SourceModel:
    """A model resolved for packaging: where its files are, and what it is."""

    uri: str
    directory: Path
    metadata: Model
    name: str | None = None
    version: str | None = None
    registered_tags: dict[str, str] = field(default_factory=dict)  # the version's digest tags, when registered

    @property
    def label(self) -> str:
        """A short name for files and images: the registered name, else the folder's name."""
        return self.name or self.directory.name or "model"

    def verify_copy(self, directory: Path) -> None:
        """Refuse ``directory`` (a copy of the model) unless its files are the registered ones."""
        if self.registered_tags:
            verify(directory, self.registered_tags, f"models:/{self.name}/{self.version}", ignore=(COMPLETE_MARKER,))


def resolve_source(model_uri: str, client: Client) -> SourceModel:
    """Resolve ``model_uri`` through ``client`` (its tracking store and registry); a registered version's
    files are verified against their recorded digest before anything reads them."""
    from dockyard.lifecycle.resolution import ModelResolver, RegistryLookup

    parsed = parse_model_uri(model_uri)
    resolver = ModelResolver(client)
    if parsed.kind == "path":
        directory = Path(os.path.abspath(parsed.path or model_uri))
        return SourceModel(model_uri, directory, Model.load(directory))
    if parsed.kind != "registered":
        directory = resolver.fetch(model_uri)
        return SourceModel(model_uri, directory, Model.load(directory))
    lookup = RegistryLookup(client.registry)
    found = lookup.version(parsed)
    pinned = f"models:/{found.name}/{found.version}"
    directory = resolver.fetch(pinned)  # verified against the version's digest tags
    tags = {k: v for k, v in found.tags.items() if k.startswith("dockyard.")}
    return SourceModel(pinned, directory, Model.load(directory), found.name, str(found.version), tags)


def model_digest(directory: Path) -> str:
    """``sha256:<hex>`` of a model directory's files, as a registered version records it."""
    return manifest_digest(directory_files(directory, ignore=(COMPLETE_MARKER,)))


def registered_digest(source: SourceModel) -> str | None:
    return source.registered_tags.get(DIGEST_TAG)


__all__ = ["MLMODEL", "SourceModel", "model_digest", "resolve_source"]
