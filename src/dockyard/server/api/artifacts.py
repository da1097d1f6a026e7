"""The artifact proxy (``/mlflow-artifacts/...``), the run artifact listing (``/mlflow/artifacts/list``)
and the download and upload routes of MLflow's UI (``/get-artifact``, ``/model-versions/get-artifact``,
``upload-artifact``, a logged model's ``artifacts/directories`` and ``artifacts/files``).

``mlflow-artifacts:/<path>`` maps to ``<destination>/<path>``: the server's ``--artifacts-destination``
(a folder, or an S3 prefix). Uploads and downloads stream in chunks, so the server's memory does not
grow with the size of an artifact; an upload past ``--max-upload-bytes`` is refused with 413 and leaves
nothing behind. Error messages name artifact paths relative to the destination, never where the
destination is.

A download's ``Content-Type`` comes from the file name, as MLflow's server sends it (text files and
``MLmodel``/``MLproject`` as ``text/plain``, else the standard guess, else octet-stream), whatever the
request's ``Accept`` says; it is always an attachment (``nosniff``), so a browser never renders it on
the server's origin. A path with ``..``, a backslash or ``#`` is refused with MLflow's ``Invalid path``.

>>> content_type("MLmodel"), content_type("plots/loss.png"), content_type("model.pkl")
('text/plain', 'image/png', 'application/octet-stream')
>>> print(content_disposition("model.pkl"))
attachment; filename=model.pkl
>>> print(content_disposition("my model.txt"))
attachment; filename="my model.txt"
>>> print(content_disposition('r\u00e9sum\u00e9 "v2".txt'))
attachment; filename="resume \\"v2\\".txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.txt
"""

from __future__ import annotations

import contextlib
import mimetypes
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from dockyard.artifacts import check_artifact_path
from dockyard.core.errors import (
    BadRequest,
    DockyardError,
    InvalidArtifactPath,
    InvalidParameter,
    RequestTooLarge,
    StoreUnavailable,
    UnsupportedMediaType,
)
from dockyard.core.validation import missing_value
from dockyard.server.api.experiments import check_artifact_location
from dockyard.server.api.registered_models import registry
from dockyard.server.auth.policy import guarded
from dockyard.server.context import ServerContext
from dockyard.server.http import Params, endpoint, json_response, route_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from dockyard.artifacts import ArtifactStore

CHUNK = 1024 * 1024
PROXY_SCHEME = "mlflow-artifacts:"
UI_UPLOAD_LIMIT = 10 * 1024 * 1024  # upload-artifact's cap: MLflow's UI uploads small files this way
# Names MLflow's server sends as text/plain: text formats by extension, and two files without one.
TEXT_NAMES = frozenset(
    [
        "txt",
        "log",
        "err",
        "cfg",
        "conf",
        "cnf",
        "cf",
        "ini",
        "properties",
        "prop",
        "hocon",
        "toml",
        "yaml",
        "yml",
        "xml",
        "json",
        "js",
        "py",
        "py3",
        "csv",
        "tsv",
        "md",
        "rst",
        "ipynb",
        "MLmodel",
        "MLproject",
    ]
)
_TOKEN = frozenset("!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~")  # RFC 9110
_ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 5987 attr-char, besides letters and digits
# What a browser may POST cross-site without a CORS preflight: never a way to write an artifact.
_SIMPLE_TYPES = frozenset({"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})


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


def content_type(path: str) -> str:
    """The MIME type a download is sent with, from its file name only."""
    name = path.rsplit("/", 1)[-1]
    if (PurePosixPath(name).suffix[1:] or name) in TEXT_NAMES:
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _header_value(text: str) -> str:
    """``text`` as it is (a token) or quoted with its quotes and backslashes escaped."""
    if text and _TOKEN.issuperset(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def content_disposition(name: str) -> str:
    """``attachment`` with the file name as MLflow's server writes it: ``filename=`` alone for an ASCII
    name; else an ASCII fallback (accents stripped) plus the exact name, percent-encoded UTF-8, as
    ``filename*``. Control characters are dropped first (they cannot travel in a header)."""
    visible = "".join(c for c in name if unicodedata.category(c) != "Cc") or "download"
    if visible.isascii():
        return f"attachment; filename={_header_value(visible)}"
    fallback = unicodedata.normalize("NFKD", visible).encode("ascii", "ignore").decode("ascii") or "download"
    return f"attachment; filename={_header_value(fallback)}; filename*=UTF-8''{quote(visible, safe=_ATTR_CHARS)}"


def request_path(value: Any, *, root_allowed: bool = True) -> str:
    """A relative artifact path from a request, normalised (``a//b`` is ``a/b``); MLflow's exact
    ``Invalid path`` for ``..``, absolute paths, backslashes and ``#``."""
    if value is None or value == "":
        if root_allowed:
            return ""
        raise InvalidParameter("Invalid path")
    if not isinstance(value, str) or "#" in value or "\\" in value:
        raise InvalidParameter("Invalid path")
    try:
        path = check_artifact_path(value, field="path")
    except InvalidArtifactPath:
        raise InvalidParameter("Invalid path") from None
    if not path and not root_allowed:
        raise InvalidParameter("Invalid path")
    return path


def _stream(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(CHUNK):
            yield chunk


async def download(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    store = _destination(request)
    path = request_path(request.path_params["path"], root_allowed=False)
    with _relative_errors(store):
        fh = await run_in_threadpool(store.open_read, path)
    return file_response(fh, path)


def file_response(fh: BinaryIO, path: str) -> Response:
    """The file ``fh`` streamed as the download of ``path`` (its type and name from the path)."""
    from starlette.responses import StreamingResponse

    headers = {
        "Content-Type": content_type(path),  # as given: no charset added to text types, as MLflow sends it
        "Content-Disposition": content_disposition(path.rsplit("/", 1)[-1]),
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(_stream(fh), headers=headers)


async def upload(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    store = _destination(request)
    path = request_path(request.path_params["path"], root_allowed=False)
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
    path = request_path(p.string("path", default=""))
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
    path = request_path(p.string("path", default=""), root_allowed=False)
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


def _run_id(p: Params) -> str:
    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        raise InvalidParameter(missing_value("run_id"))
    return str(run_id)


def _under_root(ctx: ServerContext, root: str, path: str) -> tuple[Any, str]:
    """(store, path in it) for ``path`` under the artifact root ``root``: the proxy's destination for
    ``mlflow-artifacts:`` roots, else the root's own store, which the server reads only when it lies
    under one of its artifact roots (a model version's source may name any location, /etc included)."""
    from dockyard.artifacts import artifact_store_for_uri

    if root.startswith(PROXY_SCHEME):
        if ctx.artifacts is None:
            raise StoreUnavailable("artifact proxying is disabled on this server (started with --no-serve-artifacts)")
        prefix = check_artifact_path(root[len(PROXY_SCHEME) :].lstrip("/"))
        return ctx.artifacts, f"{prefix}/{path}".strip("/") if prefix else path
    roots = ctx.settings.allowed_artifact_roots
    try:
        check_artifact_location(root, roots)
    except InvalidParameter:
        raise BadRequest(
            "this server serves artifacts only from its artifact roots (--artifact-roots); this one is elsewhere"
        ) from None
    return artifact_store_for_uri(root), path


def listing(ctx: ServerContext, root: str, path: str) -> dict[str, Any]:
    """``root_uri`` and the entries under ``path``, their paths relative to ``root``."""
    store, full = _under_root(ctx, root, path)
    offset = len(full) - len(path)  # the proxy's prefix, taken off the listed paths
    with _relative_errors(store):
        entries = store.list(full)
    return {
        "root_uri": root,
        "files": [
            {
                "path": f.path[offset:].lstrip("/"),
                "is_dir": f.is_dir,
                **({} if f.is_dir else {"file_size": f.file_size}),
            }
            for f in entries
        ],
    }


def open_under_root(ctx: ServerContext, root: str, path: str) -> BinaryIO:
    """``path`` under the artifact root ``root`` for reading, with the checks of ``_under_root``."""
    store, full = _under_root(ctx, root, path)
    with _relative_errors(store):
        return store.open_read(full)  # type: ignore[no-any-return]


def list_run_artifacts(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``/mlflow/artifacts/list``: a run's artifacts, with paths relative to its artifact root."""
    run_id = _run_id(p)
    path = request_path(p.string("path", default=""))
    return listing(ctx, ctx.tracking.get_run(run_id).info.artifact_uri, path)


def list_logged_model_artifacts(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``/mlflow/logged-models/{model_id}/artifacts/directories``: a logged model's files."""
    path = request_path(p.string("artifact_directory_path", default=""))
    model = ctx.tracking.get_logged_model(p.string("model_id", required=True))
    return listing(ctx, model.artifact_location, path)


# The file handlers below answer {"file": ..., "path": ...}; file_endpoint streams it.


def run_artifact(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``/get-artifact?run_id=&path=``: one file of a run."""
    run_id = _run_id(p)
    path = request_path(p.string("path", required=True), root_allowed=False)
    return {"file": open_under_root(ctx, ctx.tracking.get_run(run_id).info.artifact_uri, path), "path": path}


def model_version_artifact(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``/model-versions/get-artifact?name=&version=&path=``: one file of a registered version."""
    path = request_path(p.string("path", required=True), root_allowed=False)
    name, version = p.string("name", required=True), p.string("version", required=True)
    root = registry(ctx).get_model_version_download_uri(name, version)
    return {"file": open_under_root(ctx, root, path), "path": path}


def logged_model_artifact(ctx: ServerContext, p: Params) -> dict[str, Any]:
    """``/mlflow/logged-models/{model_id}/artifacts/files?artifact_file_path=``: one file of a logged model."""
    raw = p.string("artifact_file_path")
    if not raw:
        raise BadRequest('Request must include the "artifact_file_path" query parameter.')
    path = request_path(raw, root_allowed=False)
    model = ctx.tracking.get_logged_model(p.string("model_id", required=True))
    return {"file": open_under_root(ctx, model.artifact_location, path), "path": path}


def _call(request: Request, fn: Callable[[ServerContext, Params], dict[str, Any]], params: Params) -> Any:
    """``fn(ctx, params)`` in a worker thread, after the caller's permission check when auth is on."""
    from starlette.concurrency import run_in_threadpool

    ctx = request.app.state.ctx
    if ctx.auth is None:
        return run_in_threadpool(fn, ctx, params)
    return run_in_threadpool(
        guarded, fn, ctx, params, method=request.method, route=route_of(request), user=request.state.user
    )


def file_endpoint(fn: Callable[[ServerContext, Params], dict[str, Any]]) -> Callable[[Request], Any]:
    """A GET endpoint that streams the file ``fn`` opens (checked against the route's rule first)."""

    async def handle(request: Request) -> Response:
        params = await Params.read(request)
        params.data.update(request.path_params)
        found = await _call(request, fn, params)
        return file_response(found["file"], found["path"])

    handle.__name__ = fn.__name__
    return handle


async def ui_upload(request: Request) -> Response:
    """``POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=``: a raw body of at most 10 MB written
    as one file of the run (what MLflow's UI uploads), with MLflow's messages."""
    query = request.query_params
    run_uuid, path = query.get("run_uuid"), query.get("path")
    if not run_uuid:
        raise InvalidParameter("Request must specify run_uuid.")
    if not path:
        raise InvalidParameter("Request must specify path.")
    path = request_path(path, root_allowed=False)
    declared = request.headers.get("content-length", "")
    too_large = InvalidParameter(f"Artifact size is too large. Max size is {UI_UPLOAD_LIMIT // (1024 * 1024)}MB.")
    if declared.isdigit() and int(declared) > UI_UPLOAD_LIMIT:
        raise too_large
    # Deliberately stricter than MLflow: a body a browser could send cross-site without a preflight
    # (no type, text/plain, a form) is refused, so a page elsewhere cannot write into a run.
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind in _SIMPLE_TYPES:
        raise UnsupportedMediaType(
            f"upload-artifact takes a body with a content type such as application/octet-stream, got {kind or 'none'!r}"
        )
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > UI_UPLOAD_LIMIT:
            raise too_large
        parts.append(chunk)
    data = b"".join(parts)
    if not data:
        raise InvalidParameter("Request must specify data.")

    def write(ctx: ServerContext, p: Params) -> dict[str, Any]:
        store, full = _under_root(ctx, ctx.tracking.get_run(str(run_uuid)).info.artifact_uri, path)
        with _relative_errors(store):
            store.write_bytes(full, data)
        return {}

    params = Params({"run_uuid": run_uuid, "path": path}, from_query=True)
    await _call(request, write, params)
    return json_response({})


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
            Route(
                f"{prefix}/mlflow/logged-models/{{model_id}}/artifacts/directories",
                endpoint(list_logged_model_artifacts),
                methods=["GET"],
            ),
            Route(
                f"{prefix}/mlflow/logged-models/{{model_id}}/artifacts/files",
                file_endpoint(logged_model_artifact),
                methods=["GET"],
            ),
            Route(f"{prefix}/mlflow/upload-artifact", ui_upload, methods=["POST"]),
        ]
    return out


def root_routes(with_registry: bool) -> list[Any]:
    """The download routes MLflow serves at the server's root (its UI's links point there)."""
    from starlette.routing import Route

    out = [Route("/get-artifact", file_endpoint(run_artifact), methods=["GET"])]
    if with_registry:
        out.append(Route("/model-versions/get-artifact", file_endpoint(model_version_artifact), methods=["GET"]))
    return out
