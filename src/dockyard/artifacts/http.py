"""Artifacts through a tracking server's artifact proxy (``mlflow-artifacts:`` roots).

``mlflow-artifacts:/1/<run>/artifacts`` with tracking URI ``http://host:5000`` is the URL
``http://host:5000/api/2.0/mlflow-artifacts/artifacts/1/<run>/artifacts``, as MLflow resolves it.
Files go up as one streamed PUT each and come down as streamed GETs, so neither side holds a whole
file in memory.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import quote, urlsplit

from dockyard.artifacts.base import FileInfo, check_artifact_path
from dockyard.core.credentials import auth_headers_for
from dockyard.core.errors import ArtifactNotFound, DockyardError, InvalidParameter, StoreUnavailable, error_from_dict

PROXY_PATH = "/api/2.0/mlflow-artifacts/artifacts"
CHUNK = 1024 * 1024

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def resolve_proxy_uri(uri: str, tracking_uri: str | None) -> str:
    """The HTTP URL of an ``mlflow-artifacts:`` URI (a host in the URI wins over the tracking URI)."""
    parts = urlsplit(uri)
    path = parts.path.lstrip("/")
    if parts.netloc:
        base = f"http://{parts.netloc}"
    elif tracking_uri and tracking_uri.startswith(("http://", "https://")):
        base = tracking_uri.rstrip("/")
    else:
        raise InvalidParameter(
            f"artifact URI {uri!r} is served by a tracking server, but the tracking URI "
            f"{tracking_uri!r} is not an http(s) server; set DOCKYARD_TRACKING_URI to the server"
        )
    return f"{base}{PROXY_PATH}/{path}".rstrip("/")


def _client_for(base: str) -> Any:
    with _clients_lock:
        client = _clients.get(base)
        if client is None:
            import httpx2

            client = _clients[base] = httpx2.Client(timeout=httpx2.Timeout(120.0, connect=10.0))
        return client


def close_clients() -> None:
    """Close the pooled HTTP clients (tests; a process done with its servers)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


class _ResponseReader(io.RawIOBase):
    """A streamed HTTP response body as a raw binary file (wrapped in a BufferedReader for use)."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self._chunks = response.iter_bytes(CHUNK)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            self._pending = next(self._chunks, b"")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._response.close()
        super().close()


class HttpArtifactStore:
    """The artifacts under one proxy URL (``http(s)://host/api/2.0/mlflow-artifacts/artifacts/<root>``)."""

    def __init__(self, root_uri: str, *, http: Any = None) -> None:
        if PROXY_PATH not in root_uri:
            raise InvalidParameter(
                f"artifact URI {root_uri!r}: only a tracking server's artifact proxy ({PROXY_PATH}) is supported"
            )
        self.root_uri = root_uri.rstrip("/")
        base, _, root = self.root_uri.partition(PROXY_PATH)
        self._endpoint = base + PROXY_PATH
        self._root = check_artifact_path(root.lstrip("/"), field="artifact root")
        self._http = http if http is not None else _client_for(base)

    def __repr__(self) -> str:
        return f"HttpArtifactStore({self.root_uri!r})"

    def _full(self, rel: str) -> str:
        return "/".join(p for p in (self._root, rel) if p)

    def _url(self, rel: str) -> str:
        return f"{self._endpoint}/{quote(self._full(rel))}"

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        import httpx2

        try:
            headers = {**auth_headers_for(url), **kwargs.pop("headers", {})}
            response = self._http.request(method, url, headers=headers, **kwargs)
        except httpx2.TransportError as exc:
            raise StoreUnavailable(f"artifact proxy at {self._endpoint} unreachable: {exc}") from exc
        self._check(response)
        return response

    @staticmethod
    def _check(response: Any) -> None:
        if response.status_code < 400:
            return
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "error_code" in payload:
            raise error_from_dict(payload, response.status_code)
        raise DockyardError(f"artifact proxy answered HTTP {response.status_code}")

    # -- writes --------------------------------------------------------------------------------

    def _put_file(self, rel: str, path: Path) -> None:
        with open(path, "rb") as fh:
            self._request("PUT", self._url(rel), content=_iter_file(fh))

    def log_file(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        rel_dir = check_artifact_path(artifact_path)
        source = Path(local_file)
        if not source.is_file():
            raise InvalidParameter(f"local_file {os.fspath(local_file)!r} is not an existing file")
        self._put_file(f"{rel_dir}/{source.name}" if rel_dir else source.name, source)

    def log_dir(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        base = check_artifact_path(artifact_path)
        source = Path(local_dir)
        if not source.is_dir():
            raise InvalidParameter(f"local_dir {os.fspath(local_dir)!r} is not an existing directory")
        for root, _dirs, files in os.walk(source):
            rel_root = Path(root).relative_to(source).as_posix()
            for name in sorted(files):
                rel = "/".join(p for p in (base, "" if rel_root == "." else rel_root, name) if p)
                self._put_file(rel, Path(root) / name)

    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        rel = check_artifact_path(artifact_file, field="artifact_file")
        if not rel:
            raise InvalidParameter("artifact_file must name a file, not the artifact root")
        self._request("PUT", self._url(rel), content=bytes(data))

    @contextlib.contextmanager
    def open_write(self, artifact_file: str) -> Iterator[BinaryIO]:
        rel = check_artifact_path(artifact_file, field="artifact_file")
        with tempfile.TemporaryFile() as spool:
            yield spool
            spool.seek(0)
            self._request("PUT", self._url(rel), content=_iter_file(spool))

    # -- reads ---------------------------------------------------------------------------------

    def list(self, path: str | None = None) -> builtins.list[FileInfo]:
        rel = check_artifact_path(path)
        payload = self._request("GET", self._endpoint, params={"path": self._full(rel)}).json()
        files = payload.get("files", []) if isinstance(payload, dict) else []
        infos = [
            FileInfo(
                path=f"{rel}/{f['path']}" if rel else f["path"],
                is_dir=bool(f.get("is_dir")),
                file_size=None if f.get("is_dir") else int(f.get("file_size", 0)),
            )
            for f in files
        ]
        return sorted(infos, key=lambda info: info.path)

    def open_read(self, path: str) -> BinaryIO:
        rel = check_artifact_path(path, field="path")
        request = self._http.build_request("GET", self._url(rel), headers=auth_headers_for(self._url(rel)))
        response = self._http.send(request, stream=True)
        if response.status_code >= 400:
            response.read()
            response.close()
            self._check(response)
        return cast(BinaryIO, io.BufferedReader(_ResponseReader(response), CHUNK))

    def download(self, path: str, dst_dir: str | os.PathLike[str]) -> str:
        rel = check_artifact_path(path, field="path")
        dst = Path(dst_dir) / rel if rel else Path(dst_dir)
        children = self.list(rel)
        if children or not rel:
            dst.mkdir(parents=True, exist_ok=True)
            for child in children:
                if child.is_dir:
                    self.download(child.path, dst_dir)
                else:
                    self._download_file(child.path, Path(dst_dir) / child.path)
            return os.fspath(dst)
        self._download_file(rel, dst)
        return os.fspath(dst)

    def _download_file(self, rel: str, dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            source = self.open_read(rel)
        except ArtifactNotFound:
            raise ArtifactNotFound(f"artifact {rel!r} not found under {self.root_uri}") from None
        with source, open(dst, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK)

    def delete(self, path: str | None = None) -> None:
        rel = check_artifact_path(path)
        if rel:
            self._request("DELETE", self._url(rel))
            return
        for child in self.list(""):
            self._request("DELETE", self._url(child.path))


def _iter_file(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk
