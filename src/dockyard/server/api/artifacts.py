"""The artifact proxy (``/mlflow-artifacts/...``) and the run artifact listing (``/mlflow/artifacts/list``).

``mlflow-artifacts:/<path>`` maps to ``<destination>/<path>``: the server's ``--artifacts-destination``
(a folder, or an S3 prefix). Uploads and downloads stream in chunks, so the server's memory does not
grow with the size of an artifact; an upload past ``--max-upload-bytes`` is refused with 413 and leaves
nothing behind. Error messages name artifact paths relative to the destination, never where the
destination is.

>>> print(content_disposition('r\u00e9sum\u00e9 "v2".txt'))
attachment; filename="r_sum_ \\"v2\\".txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.txt
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from dockyard.artifacts import check_artifact_path
from dockyard.core.errors import DockyardError, InvalidParameter, RequestTooLarge, StoreUnavailable
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, endpoint, json_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from dockyard.artifacts import ArtifactStore

CHUNK = 1024 * 1024
PROXY_SCHEME = "mlflow-artifacts:"


class MultipartNotSupported(DockyardError):
    http_status = 501
    error_code = "NOT_IMPLEMENTED"


def _destination(request: Request) -> ArtifactStore:
    store = request.app.state.ctx.artifacts
    if store is None:
        raise StoreUnavailable("artifact proxying is disabled on this server (started with --no-serve-artifacts)")
    return store  # type: ignore[no-any-return]


@contextlib.contextmanager
def _relative_errors(store: Any) -> Iterator[None]:
    """Errors of ``store`` with its location (a folder of the server, a bucket) taken out of the message."""
    try:
        yield
    except DockyardError as exc:
        message = exc.message
        for location in {str(getattr(store, "root_uri", "") or ""), str(getattr(store, "root", "") or "")}:
            if len(location) > 1:
                message = message.replace(location, "the artifact store")
        if message != exc.message:
            exc.message = message
            exc.args = (message,)
        raise


def content_disposition(name: str) -> str:
    """``attachment`` with the file name as RFC 6266 has it: an ASCII ``filename`` (control characters
    dropped, other non-ASCII characters as ``_``, quotes and backslashes escaped) for old clients, and the
    exact name percent-encoded in UTF-8 as ``filename*``."""
    visible = "".join(c for c in name if unicodedata.category(c) != "Cc") or "artifact"
    fallback = "".join(c if c.isascii() else "_" for c in visible).replace("\\", "\\\\").replace('"', '\\"')
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(visible, safe='!#$&+^`|')}"


def _stream(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(CHUNK):
            yield chunk


async def download(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import StreamingResponse

    store = _destination(request)
    path = check_artifact_path(request.path_params["path"], field="path")
    with _relative_errors(store):
        fh = await run_in_threadpool(store.open_read, path)
    name = path.rsplit("/", 1)[-1]
    return StreamingResponse(
        _stream(fh),
        media_type="application/octet-stream",
        headers={"Content-Disposition": content_disposition(name), "X-Content-Type-Options": "nosniff"},
    )


async def upload(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    store = _destination(request)
    path = check_artifact_path(request.path_params["path"], field="path")
    if not path:
        raise InvalidParameter("path must name a file")
    limit = request.app.state.ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(
            f"upload of {int(declared)} bytes is over the server's limit of {limit} bytes (--max-upload-bytes)"
        )
    writer = store.open_write(path)
    with _relative_errors(store):
        fh = await run_in_threadpool(writer.__enter__)
    try:
        # The body arrives in small pieces (64 KB); gather up to CHUNK before each write, so a 100 MB
        # upload costs 100 thread hand-offs rather than 1,600, and memory stays at one chunk.
        pending: list[bytes] = []
        size = total = 0
        async for piece in request.stream():
            total += len(piece)
            if total > limit:  # a body without Content-Length (chunked), or longer than it said
                raise RequestTooLarge(f"upload is over the server's limit of {limit} bytes (--max-upload-bytes)")
            pending.append(piece)
            size += len(piece)
            if size >= CHUNK:
                await run_in_threadpool(fh.write, b"".join(pending))
                pending, size = [], 0
        if pending:
            await run_in_threadpool(fh.write, b"".join(pending))
    except BaseException as exc:  # the writer removes what it wrote: nothing partial under the final name
        await run_in_threadpool(writer.__exit__, type(exc), exc, exc.__traceback__)
        raise
    with _relative_errors(store):
        await run_in_threadpool(writer.__exit__, None, None, None)
    return json_response({})


def list_proxy(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """Basenames of a directory's entries; ``{}`` for a file or a missing path (as MLflow answers)."""
    if ctx.artifacts is None:
        raise StoreUnavailable("artifact proxying is disabled on this server (started with --no-serve-artifacts)")
    path = check_artifact_path(p.string("path", default=""), field="path")
    with _relative_errors(ctx.artifacts):
        files = ctx.artifacts.list(path)
    if not files:
        return {}
    return {
        "files": [
            {"path": f.path.rsplit("/", 1)[-1], "is_dir": f.is_dir, **({} if f.is_dir else {"file_size": f.file_size})}
            for f in files
        ]
    }


def delete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    if ctx.artifacts is None:
        raise StoreUnavailable("artifact proxying is disabled on this server (started with --no-serve-artifacts)")
    path = check_artifact_path(p.string("path", default=""), field="path")
    if not path:
        raise InvalidParameter("path must name an artifact, not the root")
    with _relative_errors(ctx.artifacts):
        ctx.artifacts.delete(path)
    return {}


def _multipart_store(ctx: ServerContext) -> Any:
    store = ctx.artifacts
    if store is None:
        raise StoreUnavailable("artifact proxying is disabled on this server (started with --no-serve-artifacts)")
    if not hasattr(store, "create_multipart_upload"):
        # MLflow's client falls back to a single PUT when the message starts like this.
        raise MultipartNotSupported(
            "Multipart upload is not supported for the current artifact repository; upload with a single PUT"
        )
    return store


def _multipart_target(p: Params) -> str:
    """``mpu/<op>/<artifact dir>`` with the file's base name from the body's ``path`` (MLflow's form)."""
    directory = check_artifact_path(p.string("artifact_path", default=""), field="path")
    name = PurePosixPath(str(p.string("path", required=True)).replace("\\", "/")).name
    if not name:
        raise InvalidParameter("path must name a file")
    return f"{directory}/{name}" if directory else name


def multipart_create(ctx: ServerContext, p: Params) -> dict[str, Any]:
    store = _multipart_store(ctx)
    num_parts = p.integer("num_parts", default=1)
    with _relative_errors(store):
        upload_id, credentials = store.create_multipart_upload(_multipart_target(p), num_parts)
    return {"upload_id": upload_id, "credentials": credentials}


def multipart_complete(ctx: ServerContext, p: Params) -> dict[str, Any]:
    store = _multipart_store(ctx)
    parts = []
    for i, part in enumerate(p.items("parts")):
        if not isinstance(part, dict) or "part_number" not in part:
            raise InvalidParameter(f"parts[{i}]: expected an object with 'part_number' and 'etag'")
        parts.append((int(part["part_number"]), str(part.get("etag", ""))))
    with _relative_errors(store):
        store.complete_multipart_upload(_multipart_target(p), p.string("upload_id", required=True), parts)
    return {}


def multipart_abort(ctx: ServerContext, p: Params) -> dict[str, Any]:
    store = _multipart_store(ctx)
    with _relative_errors(store):
        store.abort_multipart_upload(_multipart_target(p), p.string("upload_id", required=True))
    return {}


def list_run_artifacts(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``/mlflow/artifacts/list``: a run's artifacts, with paths relative to its artifact root."""
    from dockyard.artifacts import artifact_store_for_uri

    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        raise InvalidParameter("Missing value for required parameter 'run_id'")
    root = ctx.tracking.get_run(run_id).info.artifact_uri
    path = check_artifact_path(p.string("path", default=""), field="path")
    if root.startswith(PROXY_SCHEME):
        if ctx.artifacts is None:
            raise StoreUnavailable("artifact proxying is disabled on this server")
        prefix = check_artifact_path(root[len(PROXY_SCHEME) :].lstrip("/"))
        with _relative_errors(ctx.artifacts):
            entries = ctx.artifacts.list(f"{prefix}/{path}" if path else prefix)
        files = [(f.path[len(prefix) + 1 :], f) for f in entries]
    else:
        files = [(f.path, f) for f in artifact_store_for_uri(root).list(path)]
    return {
        "root_uri": root,
        "files": [
            {"path": rel, "is_dir": f.is_dir, **({} if f.is_dir else {"file_size": f.file_size})} for rel, f in files
        ],
    }


def routes(prefixes: tuple[str, ...]) -> list[Any]:
    from starlette.routing import Route

    out = []
    for prefix in prefixes:
        base = f"{prefix}/mlflow-artifacts"
        out += [
            Route(f"{base}/artifacts", endpoint(list_proxy), methods=["GET"]),
            Route(f"{base}/artifacts/{{path:path}}", download, methods=["GET"]),
            Route(f"{base}/artifacts/{{path:path}}", upload, methods=["PUT"]),
            Route(f"{base}/artifacts/{{path:path}}", endpoint(delete), methods=["DELETE"]),
            Route(f"{base}/mpu/create/{{artifact_path:path}}", endpoint(multipart_create), methods=["POST"]),
            Route(f"{base}/mpu/complete/{{artifact_path:path}}", endpoint(multipart_complete), methods=["POST"]),
            Route(f"{base}/mpu/abort/{{artifact_path:path}}", endpoint(multipart_abort), methods=["POST"]),
            Route(f"{prefix}/mlflow/artifacts/list", endpoint(list_run_artifacts), methods=["GET"]),
        ]
    return out
