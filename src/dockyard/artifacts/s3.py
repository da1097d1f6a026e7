"""Artifacts in an S3 bucket (``s3://bucket/prefix`` roots), through boto3.

An artifact ``a/b.txt`` under the root ``s3://bucket/runs/1`` is the object ``runs/1/a/b.txt``.
S3 has no directories: a "directory" is the common prefix of the keys under it, so empty local
directories are not uploaded, and a directory disappears with its last file.

Big files never sit in memory: uploads go through boto3's managed transfer (multipart above its
threshold, reading the source in parts), :meth:`S3ArtifactStore.open_write` spools to a temporary
file on disk first, and :meth:`S3ArtifactStore.open_read` streams the response body.

Without an injected client, the store uses one process-wide ``boto3.client("s3")``, built on first
use; boto3 configures it from the usual ``AWS_*`` environment variables and files
(``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server such as MinIO).

Errors are translated: a missing object is :class:`~dockyard.core.errors.ArtifactNotFound`, a missing
bucket or refused access is :class:`~dockyard.core.errors.InvalidParameter` naming the bucket, and an
unreachable endpoint is :class:`~dockyard.core.errors.StoreUnavailable`.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from dockyard.artifacts.base import FileInfo, check_artifact_path
from dockyard.core.errors import (
    ArtifactNotFound,
    DockyardError,
    InvalidArtifactPath,
    InvalidParameter,
    MissingExtra,
    StoreUnavailable,
)

__all__ = ["S3ArtifactStore", "parse_s3_uri"]

_DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
_READ_BUFFER = 1024 * 1024

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AccountProblem",
    }
)
_UNAVAILABLE_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling", "503", "500"}
)

_default_client: Any = None
_default_client_lock = threading.Lock()


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise MissingExtra("boto3", "s3") from None
    return boto3


def _shared_client() -> Any:
    """The process-wide default S3 client, built once (boto3 clients are thread-safe)."""
    global _default_client
    with _default_client_lock:
        if _default_client is None:
            _default_client = _import_boto3().client("s3")
        return _default_client


def _reset_shared_client() -> None:
    """Forget the default client, so the next store builds one from the current environment."""
    global _default_client
    with _default_client_lock:
        _default_client = None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of an ``s3://bucket/prefix`` URI, the prefix normalised (no slashes at the ends).

    >>> parse_s3_uri("s3://my-bucket/runs/1/artifacts/")
    ('my-bucket', 'runs/1/artifacts')
    >>> parse_s3_uri("s3://my-bucket")
    ('my-bucket', '')
    """
    if not isinstance(uri, str) or uri[:5].lower() != "s3://":
        raise InvalidParameter(f"artifact URI {uri!r} is not an s3:// URI")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise InvalidParameter(f"artifact URI {uri!r} names no bucket")
    if any(c in bucket for c in "?#\\ ") or "\x00" in bucket:
        raise InvalidParameter(f"artifact URI {uri!r}: invalid bucket name {bucket!r}")
    try:
        prefix = check_artifact_path(prefix, field="artifact root prefix")
    except InvalidArtifactPath as err:
        raise InvalidParameter(f"artifact URI {uri!r}: {err.message}") from None
    return bucket, prefix


class _BodyReader(io.RawIOBase):
    """A botocore StreamingBody as a raw, read-only file; transport errors become StoreUnavailable."""

    def __init__(self, body: Any, describe: str) -> None:
        super().__init__()
        self._body = body
        self._describe = describe

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except Exception as exc:  # botocore wraps transport failures in its own exceptions
            translated = _transport_error(exc, self._describe)
            if translated is None:
                raise
            raise translated from exc
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


def _transport_error(exc: BaseException, describe: str) -> DockyardError | None:
    """StoreUnavailable for a botocore connection or streaming failure, else None."""
    try:
        from botocore import exceptions as bce
    except ImportError:  # pragma: no cover - botocore comes with boto3
        return None
    transient = (bce.ConnectionError, bce.HTTPClientError, bce.IncompleteReadError)
    if isinstance(exc, transient):
        return StoreUnavailable(f"S3 endpoint unreachable while accessing {describe}: {exc}")
    return None


class S3ArtifactStore:
    """An :class:`~dockyard.artifacts.base.ArtifactStore` over ``s3://bucket/prefix``.

    ``client`` is a boto3 S3 client to use instead of the process-wide default one (a test's client
    pointed at a local server, or one with custom credentials or retry settings).
    """

    def __init__(self, root_uri: str, *, client: Any = None) -> None:
        self.bucket, self.prefix = parse_s3_uri(root_uri)
        self.root_uri = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        _import_boto3()  # raise MissingExtra up front, even with an injected client
        self._client = client if client is not None else _shared_client()

    def __repr__(self) -> str:
        return f"S3ArtifactStore({self.root_uri!r})"

    # -- keys and errors -----------------------------------------------------------------------

    def _key(self, rel: str) -> str:
        """The object key of the artifact path ``rel`` ("" is the root prefix itself)."""
        return "/".join(p for p in (self.prefix, rel) if p)

    def _dir_prefix(self, rel: str) -> str:
        """The key prefix of everything under the directory ``rel`` ("" for a root at the bucket)."""
        key = self._key(rel)
        return f"{key}/" if key else ""

    def _translate(self, exc: BaseException, rel: str) -> DockyardError | None:
        """The Dockyard error for a boto3/botocore exception about artifact ``rel`` (None if foreign)."""
        from botocore import exceptions as bce

        describe = f"artifact {rel!r} under {self.root_uri}"
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, DockyardError):
                return current
            if isinstance(current, bce.ClientError):
                return self._client_error(current, rel)
            transport = _transport_error(current, describe)
            if transport is not None:
                return transport
            if isinstance(current, bce.NoCredentialsError | bce.PartialCredentialsError):
                return InvalidParameter(f"S3 bucket {self.bucket!r}: no usable AWS credentials ({current})")
            # boto3 wraps ClientErrors (S3UploadFailedError: implicit chaining; RetriesExceededError).
            last = getattr(current, "last_exception", None)
            current = last if isinstance(last, BaseException) else (current.__cause__ or current.__context__)
        if isinstance(exc, bce.BotoCoreError):
            return DockyardError(f"S3 error on {describe}: {exc}")
        return None

    def _client_error(self, exc: Any, rel: str) -> DockyardError:
        response = exc.response if isinstance(exc.response, dict) else {}
        error = response.get("Error") or {}
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return self._error_for(str(error.get("Code", "")), str(error.get("Message", "")), status, rel)

    def _error_for(self, code: str, message: str, status: Any, rel: str) -> DockyardError:
        """The Dockyard error for an S3 error ``code`` (and HTTP ``status``, when known)."""
        reason = f"{code}: {message}" if message and message != code else code or f"HTTP {status}"
        if code == "NoSuchBucket":
            return InvalidParameter(f"S3 bucket {self.bucket!r} (artifact root {self.root_uri}): bucket does not exist")
        if code in _ACCESS_CODES or status == 403:
            return InvalidParameter(
                f"S3 bucket {self.bucket!r} (artifact root {self.root_uri}): access denied ({reason})"
            )
        if code in _NOT_FOUND_CODES or status == 404:
            return ArtifactNotFound(f"artifact {rel!r} not found under {self.root_uri}")
        if code in _UNAVAILABLE_CODES or (isinstance(status, int) and status >= 500):
            return StoreUnavailable(f"S3 bucket {self.bucket!r} temporarily unavailable ({reason})")
        return DockyardError(f"S3 error on artifact {rel!r} under {self.root_uri}: {reason}")

    @contextlib.contextmanager
    def _errors(self, rel: str) -> Iterator[None]:
        try:
            yield
        except DockyardError:
            raise
        except Exception as exc:
            translated = self._translate(exc, rel)
            if translated is None:
                raise
            raise translated from exc

    def _iter_objects(self, prefix: str, rel: str) -> Iterator[dict[str, Any]]:
        """Every object whose key starts with ``prefix`` (paginated, no delimiter)."""
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors(rel):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                yield from page.get("Contents", [])

    # -- writes --------------------------------------------------------------------------------

    def _upload_file(self, source: Path, rel: str) -> None:
        with self._errors(rel):
            self._client.upload_file(os.fspath(source), self.bucket, self._key(rel))

    def log_file(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload ``local_file`` as ``<artifact_path>/<basename>`` (multipart when large)."""
        rel_dir = check_artifact_path(artifact_path)
        source = Path(local_file)
        if not source.is_file():
            raise InvalidParameter(f"local_file {os.fspath(local_file)!r} is not an existing file")
        self._upload_file(source, f"{rel_dir}/{source.name}" if rel_dir else source.name)

    def log_dir(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload the files under ``local_dir`` (recursively) below ``artifact_path``.

        Symlinks are followed (a cycle is not); sockets, fifos and broken symlinks are skipped, and
        so are empty directories, which S3 cannot hold.
        """
        base = check_artifact_path(artifact_path)
        source = Path(local_dir)
        if not source.is_dir():
            raise InvalidParameter(f"local_dir {os.fspath(local_dir)!r} is not an existing directory")
        seen: set[str] = set()
        for root, dirs, files in os.walk(source, followlinks=True):
            real = os.path.realpath(root)
            if real in seen:  # a symlink back to a directory already walked
                dirs[:] = []
                continue
            seen.add(real)
            dirs.sort()
            rel_root = Path(root).relative_to(source).as_posix()
            for name in sorted(files):
                path = Path(root) / name
                if not path.is_file():
                    continue
                rel = "/".join(p for p in (base, "" if rel_root == "." else rel_root, name) if p)
                self._upload_file(path, rel)

    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        """Write ``data`` as the object ``<artifact_file>`` in one PutObject."""
        rel = check_artifact_path(artifact_file, field="artifact_file")
        if not rel:
            raise InvalidArtifactPath("artifact_file must name a file, not the artifact root")
        with self._errors(rel):
            self._client.put_object(Bucket=self.bucket, Key=self._key(rel), Body=bytes(data))

    @contextlib.contextmanager
    def open_write(self, artifact_file: str) -> Iterator[BinaryIO]:
        """A file to write ``artifact_file`` into, spooled on local disk and uploaded when the block ends.

        Nothing is uploaded when the block raises.
        """
        rel = check_artifact_path(artifact_file, field="artifact_file")
        if not rel:
            raise InvalidArtifactPath("artifact_file must name a file, not the artifact root")
        with tempfile.TemporaryFile(prefix="dockyard-s3-") as spool:
            yield spool
            spool.flush()
            spool.seek(0)
            with self._errors(rel):
                self._client.upload_fileobj(spool, self.bucket, self._key(rel))

    # -- multipart uploads through presigned URLs (the server's /mlflow-artifacts/mpu/* calls) -------

    def create_multipart_upload(
        self, artifact_file: str, num_parts: int, *, expires_in: int = 3600
    ) -> tuple[str, builtins.list[dict[str, Any]]]:
        """Start a multipart upload; the client PUTs each part straight to its presigned URL."""
        rel = check_artifact_path(artifact_file, field="path")
        if not rel:
            raise InvalidArtifactPath("path must name a file, not the artifact root")
        if not 1 <= num_parts <= 10_000:
            raise InvalidParameter(f"num_parts must be between 1 and 10000 (S3's limit), got {num_parts}")
        key = self._key(rel)
        with self._errors(rel):
            upload_id = self._client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
            credentials = [
                {
                    "url": self._client.generate_presigned_url(
                        "upload_part",
                        Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": n},
                        ExpiresIn=expires_in,
                    ),
                    "part_number": n,
                    "headers": {},
                }
                for n in range(1, num_parts + 1)
            ]
        return upload_id, credentials

    def complete_multipart_upload(
        self, artifact_file: str, upload_id: str, parts: builtins.list[tuple[int, str]]
    ) -> None:
        """Join the uploaded parts, given as (part_number, etag), into the object."""
        rel = check_artifact_path(artifact_file, field="path")
        with self._errors(rel):
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self._key(rel),
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts)]},
            )

    def abort_multipart_upload(self, artifact_file: str, upload_id: str) -> None:
        rel = check_artifact_path(artifact_file, field="path")
        with self._errors(rel):
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=self._key(rel), UploadId=upload_id)

    # -- reads ---------------------------------------------------------------------------------

    def list(self, path: str | None = None) -> builtins.list[FileInfo]:
        """Direct children of ``path``, sorted; a file or a missing path gives ``[]``."""
        rel = check_artifact_path(path)
        prefix = self._dir_prefix(rel)
        infos: dict[str, FileInfo] = {}
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors(rel):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    name = common["Prefix"][len(prefix) :].rstrip("/")
                    if name and "/" not in name:
                        child = f"{rel}/{name}" if rel else name
                        infos[child] = FileInfo(path=child, is_dir=True, file_size=None)
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(prefix) :]
                    if name:  # "" is a "folder" marker object for the prefix itself
                        child = f"{rel}/{name}" if rel else name
                        infos.setdefault(child, FileInfo(path=child, is_dir=False, file_size=int(obj["Size"])))
        return sorted(infos.values(), key=lambda info: info.path)

    def open_read(self, path: str) -> BinaryIO:
        """A buffered binary file streaming the object ``path``; the caller closes it."""
        rel = check_artifact_path(path, field="path")
        if not rel:
            raise ArtifactNotFound(f"artifact {rel!r} not found (or not a file) under {self.root_uri}")
        with self._errors(rel):
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(rel))
        raw = _BodyReader(response["Body"], f"artifact {rel!r} under {self.root_uri}")
        return io.BufferedReader(raw, _READ_BUFFER)

    def download(self, path: str, dst_dir: str | os.PathLike[str]) -> str:
        """Copy the object or tree ``path`` into ``dst_dir``, keeping its path relative to the root.

        ``download("plots/a.png", "/tmp/x")`` writes and returns ``/tmp/x/plots/a.png``; a directory
        comes down with everything under it. Keys that do not form a safe relative path (``..``
        components, for instance) are skipped, so nothing is written outside ``dst_dir``.
        Raise :class:`~dockyard.core.errors.ArtifactNotFound` when ``path`` does not exist.
        """
        rel = check_artifact_path(path, field="path")
        dst = Path(dst_dir) / rel if rel else Path(dst_dir)
        prefix = self._dir_prefix(rel)
        found_tree = False
        for obj in self._iter_objects(prefix, rel):
            found_tree = True
            try:
                sub = check_artifact_path(obj["Key"][len(prefix) :], field="key")
            except InvalidArtifactPath:
                continue
            if obj["Key"].endswith("/"):  # a "folder" marker object
                (dst / sub if sub else dst).mkdir(parents=True, exist_ok=True)
                continue
            target = dst / sub
            target.parent.mkdir(parents=True, exist_ok=True)
            child = f"{rel}/{sub}" if rel else sub
            with self._errors(child):
                self._client.download_file(self.bucket, obj["Key"], os.fspath(target))
        if found_tree or not rel:  # a root nothing was logged to yet is simply empty
            dst.mkdir(parents=True, exist_ok=True)
            return os.fspath(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._errors(rel):
                self._client.download_file(self.bucket, self._key(rel), os.fspath(dst))
        except ArtifactNotFound:
            raise ArtifactNotFound(f"artifact {rel!r} not found under {self.root_uri}") from None
        return os.fspath(dst)

    # -- delete --------------------------------------------------------------------------------

    def delete(self, path: str | None = None) -> None:
        """Delete the object ``path`` and everything under ``path/`` (the whole root when omitted).

        A missing path is a no-op. Keys go in DeleteObjects batches of 1000.
        """
        rel = check_artifact_path(path)
        batch: builtins.list[str] = [self._key(rel)] if rel else []
        for obj in self._iter_objects(self._dir_prefix(rel), rel):
            batch.append(obj["Key"])
            if len(batch) == _DELETE_BATCH:
                self._delete_batch(batch, rel)
                batch = []
        if batch:
            self._delete_batch(batch, rel)

    def _delete_batch(self, keys: builtins.list[str], rel: str) -> None:
        with self._errors(rel):
            response = self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
            )
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            error = self._error_for(str(first.get("Code", "")), str(first.get("Message", "")), None, rel)
            raise type(error)(
                f"S3 refused to delete {len(errors)} object(s), e.g. {first.get('Key')!r}: {error.message}"
            )
