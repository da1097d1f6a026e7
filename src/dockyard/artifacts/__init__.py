"""Artifact stores: where a run's files live.

>>> import tempfile
>>> store = artifact_store_for_uri(tempfile.mkdtemp())
>>> store.write_bytes("config.json", b"{}")
>>> [info.path for info in store.list()]
['config.json']

This package is also MLflow's ``mlflow.artifacts`` for ``import dockyard as mlflow`` scripts:
``download_artifacts``, ``list_artifacts``, ``load_text``, ``load_dict`` and ``load_image`` resolve
``runs:/`` and ``models:/`` URIs through the tracking store and the registry, so they are defined in
:mod:`dockyard.lifecycle.artifact_access` and loaded from there by name when first looked up. No module
of this package imports a layer above it (``lint-imports`` checks that); docs/architecture.md gives the
reason for this one lookup by name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dockyard.artifacts.base import ArtifactStore, check_artifact_path
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.artifacts.registry import artifact_store_for_uri

# MLflow's mlflow.artifacts functions -> the module above the stores that defines them.
USER_FUNCTIONS_MODULE = "dockyard.lifecycle.artifact_access"
USER_FUNCTIONS = ("download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text")

__all__ = ["ArtifactStore", "LocalArtifactStore", "artifact_store_for_uri", "check_artifact_path", *USER_FUNCTIONS]


def __getattr__(name: str) -> Any:
    if name not in USER_FUNCTIONS:
        raise AttributeError(f"module 'dockyard.artifacts' has no attribute {name!r}")
    value = getattr(importlib.import_module(USER_FUNCTIONS_MODULE), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *USER_FUNCTIONS})


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only (import-linter skips these)
    from dockyard.lifecycle.artifact_access import download_artifacts as download_artifacts
    from dockyard.lifecycle.artifact_access import list_artifacts as list_artifacts
    from dockyard.lifecycle.artifact_access import load_dict as load_dict
    from dockyard.lifecycle.artifact_access import load_image as load_image
    from dockyard.lifecycle.artifact_access import load_text as load_text
