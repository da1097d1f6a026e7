"""A run's artifacts for the UI: listing (the function ``/mlflow/artifacts/list`` calls), reading and previews.

Previews read at most :data:`PREVIEW_BYTES` of a file and show at most :data:`PREVIEW_ROWS` rows of a table.

>>> preview_kind("model/MLmodel"), preview_kind("a/b.JSON"), preview_kind("plot.png"), preview_kind("x.bin")
('yaml', 'json', 'image', None)
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from dockyard.artifacts import check_artifact_path
from dockyard.core.errors import ArtifactNotFound, DockyardError
from dockyard.server.api.artifacts import listing, open_under_root, request_path
from dockyard.server.context import ServerContext

PREVIEW_BYTES = 2 * 1024 * 1024  # the most of a file a preview reads
PREVIEW_ROWS = 200  # rows of a CSV or Parquet table
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
TEXT_SUFFIXES = frozenset(
    {".txt", ".log", ".md", ".py", ".diff", ".patch", ".sh", ".cfg", ".ini", ".toml", ".html", ".xml", ".r", ".sql"}
)
TEXT_NAMES = frozenset({"requirements.txt", "Dockerfile", "LICENSE", "README", "python_env.yaml", "conda.yaml"})


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the run's artifact root
    is_dir: bool
    size: int | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class Preview:
    path: str
    kind: str | None  # text, json, yaml, image, table; None: no preview for this type
    size: int | None = None
    text: str = ""
    truncated: bool = False
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    total_rows: int | None = None
    error: str | None = None


def preview_kind(path: str) -> str | None:
    name = PurePosixPath(path).name
    suffix = PurePosixPath(path).suffix.lower()
    if name == "MLmodel" or suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix in (".json", ".jsonl"):
        return "json"
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix in (".csv", ".tsv", ".parquet"):
        return "table"
    if suffix in TEXT_SUFFIXES or name in TEXT_NAMES:
        return "text"
    return None


def list_dir(ctx: ServerContext, artifact_uri: str, path: str) -> list[Entry]:
    """The entries of one artifact directory of a run (its artifact root ``artifact_uri``), directories first."""
    listed = listing(ctx, artifact_uri, request_path(path))
    entries = [Entry(f["path"], bool(f["is_dir"]), f.get("file_size")) for f in listed["files"]]
    return sorted(entries, key=lambda e: (not e.is_dir, e.name.lower()))


@contextlib.contextmanager
def open_artifact(ctx: ServerContext, artifact_uri: str, path: str) -> Iterator[IO[bytes]]:
    """A run's artifact file, for reading (through the proxy's destination when the run's root is one)."""
    path = check_artifact_path(path, field="path")
    if not path:
        raise ArtifactNotFound("path: name a file of the run's artifacts")
    # The same root checks as the REST downloads: the proxy's destination, or a root the server serves.
    fh = open_under_root(ctx, artifact_uri, path)
    with fh:
        yield fh


def preview(ctx: ServerContext, artifact_uri: str, entry: Entry) -> Preview:
    kind = preview_kind(entry.path)
    out = Preview(entry.path, kind, entry.size)
    if kind is None or kind == "image":
        return out
    try:
        with open_artifact(ctx, artifact_uri, entry.path) as fh:
            data = fh.read(PREVIEW_BYTES + 1)
    except DockyardError as exc:
        out.error = exc.message
        return out
    out.truncated = len(data) > PREVIEW_BYTES
    data = data[:PREVIEW_BYTES]
    try:
        if kind == "table":
            _table(out, data, entry.path)
        elif kind == "json" and not out.truncated and not entry.path.endswith(".jsonl"):
            out.text = json.dumps(json.loads(data), indent=2, ensure_ascii=False)[:PREVIEW_BYTES]
        else:
            out.text = data.decode("utf-8", errors="replace")
    except (ValueError, ImportError, OSError) as exc:
        out.kind, out.error = "text", f"cannot show this file as a {kind}: {str(exc)[:300]}"
        out.text = data.decode("utf-8", errors="replace")
    return out


def _table(out: Preview, data: bytes, path: str) -> None:
    if path.lower().endswith(".parquet"):
        if out.truncated:
            raise ValueError(f"a Parquet file over {PREVIEW_BYTES // (1024 * 1024)} MB is not previewed")
        import pyarrow.parquet as pq  # heavy, and only for this preview

        table = pq.read_table(io.BytesIO(data))
        out.total_rows = table.num_rows
        head = table.slice(0, PREVIEW_ROWS).to_pylist()
        out.columns = list(table.column_names)
        out.rows = [[row.get(c) for c in out.columns] for row in head]
        return
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter="\t" if path.lower().endswith(".tsv") else ",")
    rows = []
    for i, row in enumerate(reader):
        if i > PREVIEW_ROWS:
            out.truncated = True
            break
        rows.append(row)
    if rows:
        out.columns, out.rows = rows[0], rows[1:]
