"""MLflow's ``mlflow.artifacts`` functions: download, list and read artifacts named by a URI or a run.

Users reach them as ``dockyard.artifacts.download_artifacts`` and so on (``mlflow.artifacts.*`` once a
script says ``import dockyard as mlflow``). They live here, not in :mod:`dockyard.artifacts`, because a
``runs:/`` or ``models:/`` URI is resolved through the tracking store and the registry, two layers above
the artifact stores; docs/architecture.md says how the store package exposes them without importing up.

An artifact URI is one of:

- ``runs:/<run_id>/<path>``: ``<path>`` below the run's artifact root, or inside the run's logged model
  when the first part of ``<path>`` names one (MLflow 3 keeps models out of the run's artifacts);
- ``models:/<name>/<version|stage|latest>``, ``models:/<name>@<alias>``, ``models:/m-<id>``: the files of
  a registered version or a logged model;
- a store location: a local path, ``file://``, ``s3://``, ``mlflow-artifacts:/`` or ``http(s)://``.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> with open(os.path.join(folder, "notes.txt"), "w") as fh:
...     _ = fh.write("hello")
>>> load_text(os.path.join(folder, "notes.txt"))
'hello'
>>> [info.path for info in list_artifacts(folder)] == [os.path.basename(folder) + "/notes.txt"]
True
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.artifacts.base import FileInfo, check_artifact_path
from dockyard.artifacts.local import path_from_file_uri
from dockyard.artifacts.registry import artifact_store_for_uri, join_location, uri_scheme
from dockyard.core.errors import ArtifactNotFound, InvalidParameter, MissingExtra
from dockyard.lifecycle.client import Client
from dockyard.lifecycle.fluent import current_client
from dockyard.lifecycle.resolution import ModelResolver

if TYPE_CHECKING:
    from dockyard.artifacts.base import ArtifactStore

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text"]


@dataclass(frozen=True, slots=True)
class ArtifactTarget:
    """Where a URI points: ``path`` (``""`` for the root itself) below the store rooted at ``root``."""

    root: str
    path: str

    @property
    def is_local(self) -> bool:
        return uri_scheme(self.root) in ("", "file")

    def local_path(self) -> Path:
        root = path_from_file_uri(self.root) if uri_scheme(self.root) == "file" else self.root
        return Path(root, self.path) if self.path else Path(root)


def _split_location(location: str) -> ArtifactTarget:
    """A store location as (parent, name), so that a file and a directory are both reachable by name."""
    if uri_scheme(location) in ("", "file"):
        local = ArtifactTarget(location, "").local_path()
        return ArtifactTarget(str(local.parent), local.name) if local.name else ArtifactTarget(str(local), "")
    stripped = location.rstrip("/")
    head, sep, name = stripped.rpartition("/")
    if not sep or not name or head.endswith(":") or head.endswith(":/"):  # a bucket or scheme root
        return ArtifactTarget(location, "")
    return ArtifactTarget(head, name)


def resolve_artifact_uri(client: Client, uri: str) -> ArtifactTarget:
    """The store and the path below it that ``uri`` (``runs:/``, ``models:/`` or a location) names."""
    if not isinstance(uri, str) or not uri:
        raise InvalidParameter(f"artifact_uri must be a non-empty string, got {uri!r}")
    scheme = uri_scheme(uri)
    if scheme == "runs":
        run_id, _, path = uri[len("runs:") :].lstrip("/").partition("/")
        if not run_id:
            raise InvalidParameter(f"artifact_uri {uri!r}: expected runs:/<run_id>/<path>")
        return run_target(client, run_id, path)
    if scheme == "models":
        return ArtifactTarget(ModelResolver(client).location(uri), "")  # a model is a directory: the root
    return _split_location(uri)


def run_target(client: Client, run_id: str, path: str | None) -> ArtifactTarget:
    """``path`` of run ``run_id``: inside its logged model when the first part names one, else below the
    run's artifact root."""
    relative = check_artifact_path(path, field="artifact_path")
    run = client.get_run(run_id)
    first, _, below = relative.partition("/")
    if first and run.outputs:
        logged = ModelResolver(client).run_logged_model(run, first)
        if logged is not None:
            return ArtifactTarget(logged.artifact_location, below)
    return ArtifactTarget(run.info.artifact_uri, relative)


@contextlib.contextmanager
def _client_for(tracking_uri: str | None) -> Iterator[Client]:
    """The fluent API's client, or a client of ``tracking_uri`` for this call only."""
    if tracking_uri is None:
        yield current_client()
        return
    client = Client(settings=current_client().settings.with_tracking_uri(tracking_uri))
    try:
        yield client
    finally:
        client.close()


def _store(client: Client, target: ArtifactTarget) -> ArtifactStore:
    return artifact_store_for_uri(target.root, tracking_uri=client.tracking_uri)


def _check_one_of(artifact_uri: str | None, run_id: str | None, artifact_path: str | None) -> None:
    # MLflow's messages, word for word: scripts and their users know them.
    if (artifact_uri is None) == (run_id is None):
        raise InvalidParameter("Exactly one of `run_id` or `artifact_uri` must be specified")
    if artifact_uri is not None and artifact_path is not None:
        raise InvalidParameter("`artifact_path` cannot be specified if `artifact_uri` is specified")


def _target(client: Client, artifact_uri: str | None, run_id: str | None, artifact_path: str | None) -> ArtifactTarget:
    if run_id is not None:
        return run_target(client, run_id, artifact_path)
    assert artifact_uri is not None  # noqa: S101  # narrowing for mypy: _check_one_of ran first
    return resolve_artifact_uri(client, artifact_uri)


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Download an artifact file or directory and return its local path.

    Give exactly one of ``artifact_uri`` and ``run_id`` (with ``artifact_path`` below the run's root).
    Without ``dst_path``, files already on the local disk are returned in place and others go to a new
    temporary directory; with it, they are copied there (the directory is created when missing).
    """
    _check_one_of(artifact_uri, run_id, artifact_path)
    if dst_path is not None:
        Path(dst_path).mkdir(parents=True, exist_ok=True)
    with _client_for(tracking_uri) as client:
        target = _target(client, artifact_uri, run_id, artifact_path)
        if target.is_local and dst_path is None:
            local = target.local_path()
            if not local.exists():
                raise ArtifactNotFound(f"artifact {artifact_uri or target.path!r}: no such file or directory ({local})")
            return str(local)
        if run_id is not None:
            client.flush()  # this process's background artifact writes land first
        destination = os.fspath(dst_path) if dst_path is not None else tempfile.mkdtemp(prefix="dockyard-")
        # Downloaded by its own name (``dst/readme.txt`` for ``runs:/<id>/notes/readme.txt``), as MLflow does.
        folder, _, name = target.path.rpartition("/")
        parent = ArtifactTarget(join_location(target.root, *folder.split("/")) if folder else target.root, name)
        return _store(client, parent).download(parent.path, destination)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """The files and directories directly under an artifact URI, or under ``artifact_path`` of a run.

    Paths are relative to the store root: the run's artifact root for a run, the parent of the location
    for a location (``list_artifacts("s3://b/run/plots")`` lists ``plots/loss.png``), as in MLflow.
    """
    _check_one_of(artifact_uri, run_id, artifact_path)
    with _client_for(tracking_uri) as client:
        target = _target(client, artifact_uri, run_id, artifact_path)
        if run_id is not None:
            client.flush()
        return _store(client, target).list(target.path or None)


def _read_bytes(artifact_uri: str) -> bytes:
    client = current_client()
    target = resolve_artifact_uri(client, artifact_uri)
    if not target.path:
        raise InvalidParameter(f"artifact_uri {artifact_uri!r}: names a directory, not a file")
    client.flush()
    with _store(client, target).open_read(target.path) as fh:
        return fh.read()


def load_text(artifact_uri: str) -> str:
    """The artifact's contents as text (UTF-8)."""
    data = _read_bytes(artifact_uri)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidParameter(
            f"artifact_uri {artifact_uri!r}: the file is not valid UTF-8; download it with "
            "download_artifacts and open it with its encoding"
        ) from None


def load_dict(artifact_uri: str) -> Any:
    """The artifact's contents parsed as JSON, or as YAML when the name ends in ``.yaml``/``.yml`` (as
    ``log_dict`` wrote it)."""
    text = load_text(artifact_uri)
    if artifact_uri.rstrip("/").endswith((".yaml", ".yml")):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidParameter(f"artifact_uri {artifact_uri!r}: not valid YAML: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(f"artifact_uri {artifact_uri!r}: not valid JSON: {exc}") from None


def load_image(artifact_uri: str) -> Any:
    """The artifact as a ``PIL.Image.Image`` (needs Pillow)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise MissingExtra("Pillow", "data") from None
    data = _read_bytes(artifact_uri)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()  # read it all now: the bytes are not kept open
    except UnidentifiedImageError:
        raise InvalidParameter(f"artifact_uri {artifact_uri!r}: not an image Pillow can read") from None
    return image
