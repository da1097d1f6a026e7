"""Artifacts on the local filesystem (a plain directory or a ``file:`` URI).

Each file is written atomically: its bytes go to a temporary file in the destination directory, which
is then renamed over the destination with :func:`os.replace`, so a crash never leaves a half-written
artifact under its real name (temporary files are named ``.dockyard-tmp-*`` and are never listed or
downloaded). Files are not fsync'ed: the guarantee holds against a process crash, not a power loss.
A process killed mid-write leaves its temporary file behind; :meth:`LocalArtifactStore.remove_stale_temp_files`
(which ``dockyard server`` runs at start) deletes those no one has written to for an hour.

Error messages name paths relative to the root, never the root itself: through the server's artifact
proxy they reach clients, who have no business knowing where the server keeps its files.

Every path is checked with :func:`~dockyard.artifacts.base.check_artifact_path`, and after resolving
symlinks the result must still be under the root: a symlink that leads outside the root is refused when
named directly, and skipped when met while listing or downloading a tree.

>>> import tempfile
>>> store = LocalArtifactStore(tempfile.mkdtemp())
>>> store.write_bytes("notes/hello.txt", b"hi")
>>> [(f.path, f.is_dir, f.file_size) for f in store.list()]
[('notes', True, None)]
>>> [(f.path, f.file_size) for f in store.list("notes")]
[('notes/hello.txt', 2)]
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from dockyard.artifacts.base import FileInfo, check_artifact_path
from dockyard.core.errors import ArtifactNotFound, InvalidArtifactPath, InvalidParameter, StoreUnavailable

__all__ = ["LocalArtifactStore", "path_from_file_uri"]

_TMP_PREFIX = ".dockyard-tmp-"
_COPY_CHUNK = 1024 * 1024
_WINDOWS_DRIVE_IN_URI = re.compile(r"^/[A-Za-z]:")


def path_from_file_uri(uri: str) -> str:
    """The local path a ``file:`` URI names, percent-decoded.

    Accepts ``file:///abs/path``, ``file://localhost/abs/path``, ``file:/abs/path`` and the relative
    ``file:rel/path``. Any other host is refused (InvalidParameter), except as a UNC share on Windows.

    >>> path_from_file_uri("file:///tmp/my%20runs/1")
    '/tmp/my runs/1'
    """
    if uri[:5].lower() != "file:":
        raise InvalidParameter(f"artifact URI {uri!r} is not a file: URI")
    rest = uri[5:]
    if rest.startswith("//"):
        host, sep, tail = rest[2:].partition("/")
        path = "/" + tail if sep else ""
        if host.lower() not in ("", "localhost"):
            if os.name != "nt":
                raise InvalidParameter(f"artifact URI {uri!r}: file URIs with a host ({host!r}) are not supported")
            path = f"//{unquote(host)}{path}"
    else:
        path = rest
    # Undecodable bytes come through as surrogates, the way os.fsdecode represents them.
    path = unquote(path, errors="surrogateescape")
    if "\x00" in path:
        raise InvalidParameter(f"artifact URI {uri!r}: NUL bytes are not allowed")
    if os.name == "nt" and _WINDOWS_DRIVE_IN_URI.match(path):
        path = path[1:]
    if not path:
        raise InvalidParameter(f"artifact URI {uri!r} names no path")
    return path


def _is_tmp(name: str) -> bool:
    return name.startswith(_TMP_PREFIX)


# A full disk or quota: the store cannot take the write now, and will when space is freed (503, retried).
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


@contextlib.contextmanager
def _space_errors() -> Iterator[None]:
    """A write that fails for lack of space raises StoreUnavailable naming the store, not a bare OSError."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _NO_SPACE:
            raise StoreUnavailable(
                f"the artifact store is full ({exc.strerror or 'no space left'}): nothing was written; "
                "retry once space is freed"
            ) from exc
        raise


class LocalArtifactStore:
    """An :class:`~dockyard.artifacts.base.ArtifactStore` over a local directory.

    ``root`` is a path or a ``file:`` URI; it need not exist until the first write. ``root_uri`` is the
    canonical ``file://`` URI of the absolute root, ``root`` the absolute :class:`~pathlib.Path`.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        raw = os.fspath(root)
        if not isinstance(raw, str):
            raise InvalidParameter(f"artifact root must be a string path, got {type(raw).__name__}")
        if raw[:5].lower() == "file:":
            raw = path_from_file_uri(raw)
        if not raw:
            raise InvalidParameter("artifact root must not be empty")
        if "\x00" in raw:
            raise InvalidParameter(f"artifact root {raw!r}: NUL bytes are not allowed")
        self.root = Path(os.path.abspath(raw))
        self.root_uri = self.root.as_uri()
        self._real_root_path: str | None = None

    def __repr__(self) -> str:
        return f"LocalArtifactStore({self.root_uri!r})"

    # -- path handling -------------------------------------------------------------------------

    def _real_root(self) -> Path:
        # Resolved once per store: the root is configuration, not user input. (os.path.realpath is a
        # few times cheaper than Path.resolve, and these checks run on every write.)
        if self._real_root_path is None:
            self._real_root_path = os.path.realpath(self.root)
        return Path(self._real_root_path)

    def _inside(self, real: Path, real_root: Path) -> bool:
        return real == real_root or real.is_relative_to(real_root)

    def _locate(self, rel: str, field: str = "artifact_path") -> Path:
        """The resolved path of ``rel``; InvalidArtifactPath if symlinks lead it outside the root."""
        real_root = self._real_root()
        if not rel:
            return real_root
        real = os.path.realpath(os.path.join(self.root, rel))
        root_text = str(real_root)
        if real != root_text and not real.startswith(root_text.rstrip(os.sep) + os.sep):
            raise InvalidArtifactPath(f"{field} {rel!r}: resolves outside the artifact root")
        return Path(real)

    def _prepare_dir(self, rel_dir: str, field: str) -> Path:
        """Create ``<root>/<rel_dir>`` (checked to stay inside the root) and return it."""
        self._locate(rel_dir, field)  # before creating anything: a symlinked parent must not escape
        target = self.root / rel_dir if rel_dir else self.root
        try:
            with _space_errors():
                os.makedirs(target, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidArtifactPath(f"{field} {rel_dir!r}: a component of the path is a file") from None
        return target

    def _atomic_write(self, dest: Path, rel: str, field: str, fill: Callable[[BinaryIO], object]) -> None:
        if dest.is_dir():
            raise InvalidArtifactPath(f"{field} {rel!r}: is a directory")
        tmp = dest.parent / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
        # os.open honours the umask, so the artifact gets the usual permissions (mkstemp would give 0600).
        with _space_errors():
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with _space_errors(), os.fdopen(fd, "wb") as fh:
                fill(fh)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _write_file(self, rel_dir: str, name: str, fill: Callable[[BinaryIO], object], field: str) -> None:
        rel = f"{rel_dir}/{name}" if rel_dir else name
        directory = self._prepare_dir(rel_dir, field)
        if os.path.islink(directory / name):  # the destination itself may be a symlink
            self._locate(rel, field)
        self._atomic_write(directory / name, rel, field, fill)

    # -- writes --------------------------------------------------------------------------------

    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        """Write ``data`` as ``<root>/<artifact_file>`` atomically, creating parent directories."""
        rel = check_artifact_path(artifact_file, field="artifact_file")
        if not rel:
            raise InvalidArtifactPath("artifact_file must name a file, not the artifact root")
        rel_dir, _, name = rel.rpartition("/")
        payload = bytes(data)
        self._write_file(rel_dir, name, lambda fh: fh.write(payload), "artifact_file")

    def log_file(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy ``local_file`` to ``<root>/<artifact_path>/<basename>`` atomically."""
        rel_dir = check_artifact_path(artifact_path)
        source = Path(local_file)
        if not source.is_file():
            raise InvalidParameter(f"local_file {os.fspath(local_file)!r} is not an existing file")
        self._copy_in(source, rel_dir, source.name)

    def _copy_in(self, source: Path, rel_dir: str, name: str) -> None:
        def fill(fh: BinaryIO) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, fh, _COPY_CHUNK)

        self._write_file(rel_dir, name, fill, "artifact_path")

    def log_dir(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy the contents of ``local_dir`` under ``<root>/<artifact_path>/``, empty directories too.

        Symlinks in ``local_dir`` are followed (a symlink cycle is not); sockets, fifos and broken
        symlinks are skipped.
        """
        base = check_artifact_path(artifact_path)
        source = Path(local_dir)
        if not source.is_dir():
            raise InvalidParameter(f"local_dir {os.fspath(local_dir)!r} is not an existing directory")
        self._copy_tree_in(source, base, frozenset({source.resolve()}))

    def _copy_tree_in(self, source: Path, rel_dir: str, seen: frozenset[Path]) -> None:
        self._prepare_dir(rel_dir, "artifact_path")
        with os.scandir(source) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir():
                real = path.resolve()
                if real not in seen:
                    child_rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                    self._copy_tree_in(path, child_rel, seen | {real})
            elif entry.is_file():
                self._copy_in(path, rel_dir, entry.name)

    # -- reads ---------------------------------------------------------------------------------

    def _children(self, real_dir: Path, real_root: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
        """(name, resolved path, stat) of the entries of ``real_dir`` that stay inside the root."""
        try:
            entries = builtins.list(os.scandir(real_dir))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if _is_tmp(entry.name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    path = path.resolve(strict=True)
                    if not self._inside(path, real_root):
                        continue
                st = path.stat()
            except (OSError, RuntimeError):  # broken link, symlink loop, vanished meanwhile
                continue
            yield entry.name, path, st

    def list(self, path: str | None = None) -> builtins.list[FileInfo]:
        """Direct children of ``path`` sorted by path; ``[]`` for a file or a missing path."""
        rel = check_artifact_path(path)
        real_root = self._real_root()
        real = self._locate(rel)
        if not real.is_dir():
            return []
        infos = []
        for name, _child, st in self._children(real, real_root):
            child_rel = f"{rel}/{name}" if rel else name
            if stat.S_ISDIR(st.st_mode):
                infos.append(FileInfo(path=child_rel, is_dir=True, file_size=None))
            else:
                infos.append(FileInfo(path=child_rel, is_dir=False, file_size=st.st_size))
        infos.sort(key=lambda info: info.path)
        return infos

    def download(self, path: str, dst_dir: str | os.PathLike[str]) -> str:
        """Copy ``path`` into ``dst_dir``, keeping its path relative to the root; return the local path.

        ``download("plots/a.png", "/tmp/x")`` writes and returns ``/tmp/x/plots/a.png``;
        ``download("", "/tmp/x")`` copies the whole root into ``/tmp/x`` and returns ``/tmp/x``.
        Raise :class:`~dockyard.core.errors.ArtifactNotFound` when ``path`` does not exist.
        """
        rel = check_artifact_path(path, field="path")
        real_root = self._real_root()
        real = self._locate(rel, "path")
        dst = Path(dst_dir) / rel if rel else Path(dst_dir)
        if not real.exists():
            if not rel:  # a root nothing was logged to yet is simply empty
                dst.mkdir(parents=True, exist_ok=True)
                return os.fspath(dst)
            raise ArtifactNotFound(f"artifact {rel!r} not found")
        if real.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
            self._copy_tree_out(real, dst, real_root, frozenset({real}))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real, dst)
        return os.fspath(dst)

    def _copy_tree_out(self, real_dir: Path, dst: Path, real_root: Path, seen: frozenset[Path]) -> None:
        for name, child, st in self._children(real_dir, real_root):
            target = dst / name
            if stat.S_ISDIR(st.st_mode):
                if child in seen:  # a symlink back to a directory already being copied
                    continue
                target.mkdir(exist_ok=True)
                self._copy_tree_out(child, target, real_root, seen | {child})
            elif stat.S_ISREG(st.st_mode):
                shutil.copyfile(child, target)

    def open_read(self, path: str) -> BinaryIO:
        """The file ``path`` opened for reading; ArtifactNotFound unless it is a regular file."""
        rel = check_artifact_path(path, field="path")
        real = self._locate(rel, "path")
        if not rel or not real.is_file():
            raise ArtifactNotFound(f"artifact {rel!r} not found (or not a file)")
        return open(real, "rb")  # the caller streams and closes it

    @contextlib.contextmanager
    def open_write(self, artifact_file: str) -> Iterator[BinaryIO]:
        """Stream into ``artifact_file``: written to a temporary file, renamed into place at the end."""
        rel = check_artifact_path(artifact_file, field="artifact_file")
        if not rel:
            raise InvalidArtifactPath("artifact_file must name a file, not the artifact root")
        rel_dir, _, name = rel.rpartition("/")
        directory = self._prepare_dir(rel_dir, "artifact_file")
        self._locate(rel, "artifact_file")
        dest = directory / name
        if dest.is_dir():
            raise InvalidArtifactPath(f"artifact_file {rel!r}: is a directory")
        tmp = directory / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
        with _space_errors():
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            # The caller's writes raise here too (thrown in at the yield), so a full disk is named as such.
            with _space_errors(), os.fdopen(fd, "wb") as fh:
                yield fh
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def remove_stale_temp_files(self, max_age: float = 3600.0) -> int:
        """Delete the temporary files of writes that stopped ``max_age`` seconds ago or more (a killed
        upload); return how many. A write in progress keeps its file's modification time fresh."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - max_age
        removed = 0
        for directory, _dirs, files in os.walk(self.root):  # symlinked directories are not followed
            for name in files:
                if not _is_tmp(name):
                    continue
                path = os.path.join(directory, name)
                with contextlib.suppress(OSError):  # gone meanwhile, or not ours to delete
                    if os.lstat(path).st_mtime < cutoff:
                        os.unlink(path)
                        removed += 1
        return removed

    # -- delete --------------------------------------------------------------------------------

    def delete(self, path: str | None = None) -> None:
        """Delete the file or tree ``path`` (everything when omitted); a missing path is a no-op.

        A symlink is removed itself, never what it points to.
        """
        rel = check_artifact_path(path)
        if not rel:
            if self.root.is_dir():
                shutil.rmtree(self.root)
            return
        parent_rel, _, _name = rel.rpartition("/")
        self._locate(parent_rel)  # the containing directory must really be inside the root
        target = self.root / rel
        if target.is_symlink() or target.is_file():
            target.unlink(missing_ok=True)
        elif target.is_dir():
            shutil.rmtree(target)
