"""The prediction log: one record per scored request, in rotating files, written off the event loop.

Each record holds ``time`` (UTC), ``endpoint``, ``status``, ``latency_ms``, ``rows``, ``model_name``,
``model_version``, ``model_id``, ``request_id`` (the ``X-Request-Id``), ``inputs`` (the request: its JSON
body as JSON, a CSV body as a string) and ``outputs`` (the predictions, or the error envelope). Two formats:

- ``jsonl`` (the default): each worker process appends lines to ``predictions-<pid>.jsonl``; a file
  that passes ``max_bytes`` is renamed ``predictions-<pid>-<UTC timestamp>.jsonl`` and a new one started.
- ``parquet``: records are buffered and written as row groups to ``predictions-<pid>.parquet.partial``
  (not yet a readable Parquet file: its footer is written when it is closed). The file is closed and
  renamed ``predictions-<pid>-<UTC timestamp>.parquet`` when it passes ``max_bytes``, when it has been
  open ``max_age`` seconds, and at shutdown, so every ``*.parquet`` file in the directory is complete.
  ``time`` is a UTC timestamp column; ``inputs`` and ``outputs`` hold the JSON text of the values the
  JSON Lines format embeds (``json.loads`` gives them back).

In both, only the newest ``backups`` rotated files are kept. A full queue (the disk cannot keep up)
drops records rather than slow down scoring; the number dropped is written to the next record that
makes it (``dropped``).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dockyard.core.errors import MissingExtra

log = logging.getLogger("dockyard.serving")


@dataclass(frozen=True)
class Entry:
    endpoint: str
    status: int
    latency_ms: float
    rows: int
    model: dict[str, Any]
    body: bytes
    content_type: str
    outputs: bytes
    at: float
    request_id: str | None = None  # X-Request-Id: what labels arriving later are joined on (dockyard monitor)


def _inputs(body: bytes, content_type: str) -> str:
    text = body.decode("utf-8", errors="replace")
    if content_type.startswith("application/json"):
        try:
            return json.dumps(json.loads(text), separators=(",", ":"))
        except ValueError:
            pass
    return json.dumps(text)


def record(entry: Entry, dropped: int = 0) -> dict[str, Any]:
    """The fields every format writes, before ``inputs`` and ``outputs``."""
    head: dict[str, Any] = {
        "time": _dt.datetime.fromtimestamp(entry.at, _dt.UTC).isoformat(),
        "endpoint": entry.endpoint,
        "status": entry.status,
        "latency_ms": round(entry.latency_ms, 3),
        "rows": entry.rows,
        "model_name": entry.model.get("model_name"),
        "model_version": entry.model.get("model_version"),
        "model_id": entry.model.get("model_id"),
        "request_id": entry.request_id,
    }
    if dropped:
        head["dropped"] = dropped
    return head


def _outputs(entry: Entry) -> str:
    outputs = entry.outputs.decode("utf-8", errors="replace") if entry.outputs else "null"
    if "\n" in outputs:
        outputs = json.dumps(json.loads(outputs), separators=(",", ":"))
    return outputs


def format_entry(entry: Entry, dropped: int = 0) -> str:
    """One JSON line (the body and outputs are embedded as JSON, not re-encoded when already compact)."""
    head = record(entry, dropped)
    inputs = _inputs(entry.body, entry.content_type)
    return f'{json.dumps(head, separators=(",", ":"))[:-1]},"inputs":{inputs},"outputs":{_outputs(entry)}}}\n'


def _stamp() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%f")


def _prune(directory: Path, pattern: str, backups: int) -> None:
    rotated = sorted(directory.glob(pattern))
    for old in rotated[: max(0, len(rotated) - backups)]:
        old.unlink(missing_ok=True)


class JsonLinesSink:
    """Appends lines; renames the file with a timestamp once it passes ``max_bytes``."""

    def __init__(self, directory: Path, max_bytes: int, backups: int) -> None:
        self.directory, self.max_bytes, self.backups = directory, max_bytes, backups
        self.path = directory / f"predictions-{os.getpid()}.jsonl"
        self._fh = self.path.open("a", encoding="utf-8")

    def write(self, entry: Entry, dropped: int) -> None:
        self._fh.write(format_entry(entry, dropped))
        if self._fh.tell() >= self.max_bytes:
            self._fh.close()
            self.path.rename(self.directory / f"predictions-{os.getpid()}-{_stamp()}.jsonl")
            _prune(self.directory, f"predictions-{os.getpid()}-*.jsonl", self.backups)
            self._fh = self.path.open("a", encoding="utf-8")

    def idle(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class ParquetSink:
    """Buffers records and writes them as row groups; rolls the file over on size, age and close."""

    def __init__(self, directory: Path, max_bytes: int, backups: int, *, max_age: float = 3600.0) -> None:
        try:
            import pyarrow as pa
        except ImportError:
            raise MissingExtra("pyarrow", "data") from None
        self.directory, self.max_bytes, self.backups, self.max_age = directory, max_bytes, backups, max_age
        self.path = directory / f"predictions-{os.getpid()}.parquet.partial"
        self.schema = pa.schema(
            [
                ("time", pa.timestamp("us", tz="UTC")),
                ("endpoint", pa.string()),
                ("status", pa.int32()),
                ("latency_ms", pa.float64()),
                ("rows", pa.int64()),
                ("model_name", pa.string()),
                ("model_version", pa.string()),
                ("model_id", pa.string()),
                ("request_id", pa.string()),
                ("dropped", pa.int64()),
                ("inputs", pa.string()),
                ("outputs", pa.string()),
            ]
        )
        # A row group is written once the buffer holds this many bytes of inputs and outputs: often
        # enough that memory stays bounded, rarely enough that row groups are not tiny.
        self.buffer_bytes = max(1, min(max_bytes // 4, 8 << 20))
        self._rows: list[dict[str, Any]] = []
        self._buffered = 0
        self._writer: Any = None
        self._opened = 0.0

    def write(self, entry: Entry, dropped: int) -> None:
        if not self._rows and self._writer is None:
            self._opened = time.monotonic()  # the age of a file counts from its first record
        row = record(entry)
        row["time"] = _dt.datetime.fromtimestamp(entry.at, _dt.UTC)
        row["dropped"] = dropped
        row["inputs"] = _inputs(entry.body, entry.content_type)
        row["outputs"] = _outputs(entry)
        self._rows.append(row)
        self._buffered += len(row["inputs"]) + len(row["outputs"]) + 100
        if self._buffered >= self.buffer_bytes:
            self._flush()
            if self.path.stat().st_size >= self.max_bytes:
                self._roll()

    def idle(self) -> None:
        if (self._rows or self._writer is not None) and time.monotonic() - self._opened >= self.max_age:
            self._roll()

    def close(self) -> None:
        self._roll()

    def _flush(self) -> None:
        if not self._rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
        self._rows, self._buffered = [], 0

    def _roll(self) -> None:
        self._flush()
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        self.path.rename(self.directory / f"predictions-{os.getpid()}-{_stamp()}.parquet")
        _prune(self.directory, f"predictions-{os.getpid()}-*.parquet", self.backups)


class Sink(Protocol):
    """Where the log thread puts records: ``write`` each, ``idle`` when the queue is empty, ``close``."""

    path: Path

    def write(self, entry: Entry, dropped: int) -> None: ...

    def idle(self) -> None: ...

    def close(self) -> None: ...


FORMATS = ("jsonl", "parquet")


class PredictionLog:
    """A queue drained by one daemon thread into a sink of the chosen ``format``."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = 64 << 20,
        backups: int = 10,
        format: str = "jsonl",
        max_age: float = 3600.0,
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"prediction log format {format!r} is not one of {', '.join(FORMATS)}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.backups = backups
        self.format = format
        self._sink: Sink
        if format == "parquet":
            self._sink = ParquetSink(self.directory, max_bytes, backups, max_age=max_age)
        else:
            self._sink = JsonLinesSink(self.directory, max_bytes, backups)
        self._queue: queue.Queue[Entry | None] = queue.Queue(maxsize=10_000)
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="dockyard-prediction-log", daemon=True)
        self._thread.start()

    @property
    def path(self) -> Path:
        """The file being written (for Parquet, not readable until it is rotated)."""
        return Path(self._sink.path)

    def write(self, entry: Entry) -> None:
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self._dropped += 1

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        sink = self._sink
        try:
            while True:
                try:
                    entry = self._queue.get(timeout=1.0)
                except queue.Empty:
                    sink.idle()  # Parquet: close a file that has been open too long
                    continue
                if entry is None:
                    return
                dropped, self._dropped = self._dropped, 0
                try:
                    sink.write(entry, dropped)
                except (ValueError, TypeError) as exc:
                    log.warning("could not write a prediction log record: %s", exc)
                    continue
                if self._queue.empty():
                    sink.idle()
        finally:
            sink.close()
