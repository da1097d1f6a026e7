"""Artifact stores: where a run's files live.

>>> import tempfile
>>> store = artifact_store_for_uri(tempfile.mkdtemp())
>>> store.write_bytes("config.json", b"{}")
>>> [info.path for info in store.list()]
['config.json']
"""

from __future__ import annotations

from dockyard.artifacts.base import ArtifactStore, check_artifact_path
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.artifacts.registry import artifact_store_for_uri

__all__ = ["ArtifactStore", "LocalArtifactStore", "artifact_store_for_uri", "check_artifact_path"]
