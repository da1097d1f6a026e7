"""Content digests of a model's files: what a registered version records, and how a load checks it.

When a model version is registered, the registry reads the version's files and records, as reserved
model-version tags that no client can set or delete:

- ``dockyard.model_digest``: ``sha256:<hex>``, the sha256 of the manifest, one line
  ``<sha256 of the file> <path>`` per file, sorted by path (POSIX, relative to the model directory);
- ``dockyard.model_files``: the per-file digests as a JSON object ``{path: sha256}``, when it fits in a
  tag value, so that a refusal can name the file that changed.

A ``models:/NAME/...`` load recomputes both from the files it is about to load and refuses, with
:class:`~dockyard.core.errors.ModelIntegrityError` naming the first file that differs, a model whose
files changed since registration. A version registered before digests existed has no tag and loads
unchecked.

>>> files = {"MLmodel": "a" * 64, "model.pkl": "b" * 64}
>>> tags = digest_tags(files)
>>> sorted(tags), tags[DIGEST_TAG][:7]
(['dockyard.model_digest', 'dockyard.model_files'], 'sha256:')
>>> first_difference(files, {**files, "model.pkl": "c" * 64})
'model.pkl changed'
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import BinaryIO

from dockyard.core.errors import ModelIntegrityError

DIGEST_TAG = "dockyard.model_digest"
FILES_TAG = "dockyard.model_files"
RESERVED_TAG_PREFIX = "dockyard."  # model-version tags only the registry writes
ALGORITHM = "sha256"

_CHUNK = 1 << 20


def file_digest(stream: BinaryIO) -> str:
    """The sha256 (hex) of everything ``stream`` holds, read in chunks."""
    digest = hashlib.sha256()
    while block := stream.read(_CHUNK):
        digest.update(block)
    return digest.hexdigest()


def manifest_digest(files: Mapping[str, str]) -> str:
    """``sha256:<hex>`` over the sorted ``<digest> <path>`` lines of ``files`` (path -> sha256)."""
    manifest = "".join(f"{files[path]} {path}\n" for path in sorted(files))
    return f"{ALGORITHM}:{hashlib.sha256(manifest.encode()).hexdigest()}"


def directory_files(directory: str | os.PathLike[str], *, ignore: Collection[str] = ()) -> dict[str, str]:
    """path -> sha256 of every file below ``directory`` (paths relative, POSIX), less the names in ``ignore``
    at its top level (the model cache's completion marker)."""
    root = Path(directory)
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir():
            continue
        relative = path.relative_to(root).as_posix()
        if relative in ignore:
            continue
        with path.open("rb") as fh:
            files[relative] = file_digest(fh)
    return files


def digest_tags(files: Mapping[str, str], *, max_value_length: int = 100_000) -> dict[str, str]:
    """The reserved tags recording ``files``: the digest, and the per-file list when it fits."""
    tags = {DIGEST_TAG: manifest_digest(files)}
    listing = json.dumps(dict(sorted(files.items())), separators=(",", ":"))
    if len(listing) <= max_value_length:
        tags[FILES_TAG] = listing
    return tags


def first_difference(registered: Mapping[str, str], current: Mapping[str, str]) -> str | None:
    """The first path (in sorted order) that differs, and how: ``"<path> changed"``, ``added``, ``removed``."""
    for path in sorted(set(registered) | set(current)):
        if path not in current:
            return f"{path} was removed"
        if path not in registered:
            return f"{path} was added"
        if registered[path] != current[path]:
            return f"{path} changed"
    return None


def verify(
    directory: str | os.PathLike[str], tags: Mapping[str, str], what: str, *, ignore: Collection[str] = ()
) -> None:
    """Refuse the model in ``directory`` unless its files are the ones ``tags`` recorded at registration
    (``what`` names the version in the error). Nothing recorded: nothing to check."""
    expected = tags.get(DIGEST_TAG)
    if not expected:
        return
    if not expected.startswith(f"{ALGORITHM}:"):
        raise ModelIntegrityError(f"{what}: its recorded digest {expected[:40]!r} is not a {ALGORITHM} digest")
    current = directory_files(directory, ignore=ignore)
    if manifest_digest(current) == expected:
        return
    difference = None
    try:
        registered = json.loads(tags.get(FILES_TAG) or "null")
    except ValueError:
        registered = None
    if isinstance(registered, dict):
        difference = first_difference({str(k): str(v) for k, v in registered.items()}, current)
    detail = f"{difference} since it was registered" if difference else "its files changed since it was registered"
    raise ModelIntegrityError(
        f"{what}: {detail}, so it is not the model that was registered; refusing to load it "
        "(register the current files as a new version if the change is intended)"
    )
