"""The artifact-store interface and the artifact-path validator every store shares.

An :class:`ArtifactStore` is rooted at one URI (a run's artifact root); every path it takes is relative
to that root and goes through :func:`check_artifact_path` first.

>>> check_artifact_path("plots/./loss.png")
'plots/loss.png'
>>> check_artifact_path(None)
''
>>> check_artifact_path("../etc/passwd")
Traceback (most recent call last):
...
dockyard.core.errors.InvalidArtifactPath: artifact_path '../etc/passwd': '..' components are not allowed
"""

from __future__ import annotations

import builtins
import os
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from dockyard.core.errors import InvalidArtifactPath


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An artifact entry: ``path`` is relative to the listed root's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None = None


__all__ = ["ArtifactStore", "check_artifact_path"]

# "C:", "c:foo", "C:\\x", "C:/x": a Windows drive, absolute or drive-relative.
_DRIVE = re.compile(r"^[A-Za-z]:")


def check_artifact_path(path: str | os.PathLike[str] | None, *, field: str = "artifact_path") -> str:
    """Normalise ``path`` to a POSIX path relative to an artifact root, or raise InvalidArtifactPath.

    ``None``, ``""`` and ``"."`` mean the root itself and give ``""``. Backslashes are treated as
    separators (what a Windows client sends), empty and ``.`` components are dropped, and the parts are
    joined with ``/``.

    Refused, with a message naming ``field`` and the reason:

    * NUL bytes;
    * absolute paths: POSIX (``/x``), Windows root-relative (``\\x``), UNC (``\\\\server\\share``,
      ``//server/share``), device (``\\\\?\\C:\\``) and drive forms (``C:\\x``, ``C:/x``, ``C:x``);
    * any ``..`` component at all, even one that would stay inside the root (``a/../b``). Resolving
      ``..`` lexically is easy to get subtly wrong (and wrong again once symlinks are involved), while
      a legitimate caller never needs it, so refusing it outright is the simpler and safer rule.
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        try:
            path = os.fspath(path)
        except TypeError:
            raise InvalidArtifactPath(f"{field} must be a string, got {type(path).__name__}") from None
        if not isinstance(path, str):
            raise InvalidArtifactPath(f"{field} must be a string, got {type(path).__name__}")
    if "\x00" in path:
        raise InvalidArtifactPath(f"{field} {path!r}: NUL bytes are not allowed")
    unified = path.replace("\\", "/")
    if unified.startswith("/"):
        raise InvalidArtifactPath(f"{field} {path!r}: absolute paths are not allowed")
    parts = [part for part in unified.split("/") if part not in ("", ".")]
    # Checked on the first kept part, so "./C:x" is refused like "C:x" (the normal form stays a fixed point).
    if _DRIVE.match(unified) or (parts and _DRIVE.match(parts[0])):
        raise InvalidArtifactPath(f"{field} {path!r}: Windows drive paths are not allowed")
    if ".." in parts:
        raise InvalidArtifactPath(f"{field} {path!r}: '..' components are not allowed")
    return "/".join(parts)


@runtime_checkable
class ArtifactStore(Protocol):
    """Artifacts of one root URI. Every ``path`` argument is relative to ``root_uri``.

    Paths are checked with :func:`check_artifact_path`; ``None`` or ``""`` means the root itself.
    """

    root_uri: str

    def log_file(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy ``local_file`` to ``<root>/<artifact_path>/<basename of local_file>``."""
        ...

    def log_dir(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy the contents of ``local_dir`` (recursively) under ``<root>/<artifact_path>/``."""
        ...

    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        """Write ``data`` as the file ``<root>/<artifact_file>``, creating parent directories."""
        ...

    def list(self, path: str | None = None) -> builtins.list[FileInfo]:
        """Direct children of ``path``, sorted by path.

        ``FileInfo.path`` is relative to the root (``"plots/a.png"``), directories have
        ``file_size=None``. Listing a file or a missing path gives ``[]``.
        """
        ...

    def download(self, path: str, dst_dir: str | os.PathLike[str]) -> str:
        """Copy the file or directory tree ``path`` into ``dst_dir``; return its local path.

        Raise :class:`~dockyard.core.errors.ArtifactNotFound` when ``path`` does not exist.
        """
        ...

    def delete(self, path: str | None = None) -> None:
        """Delete the file or directory tree ``path`` (the whole root when omitted)."""
        ...

    def open_read(self, path: str) -> BinaryIO:
        """A binary file object to stream the file ``path`` from (the caller closes it).

        Raise :class:`~dockyard.core.errors.ArtifactNotFound` when ``path`` is not a file.
        """
        ...

    def open_write(self, artifact_file: str) -> AbstractContextManager[BinaryIO]:
        """A file object to stream ``artifact_file`` into; it appears, whole, when the block ends
        without error, and not at all otherwise."""
        ...
