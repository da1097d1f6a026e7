"""The prediction log: one JSON line per scored request, in rotating files, written off the event loop.

Each line holds ``time`` (ISO 8601, UTC), ``endpoint``, ``status``, ``latency_ms``, ``rows``,
``model_name``, ``model_version``, ``model_id``, ``inputs`` (the request: its JSON body as JSON, a CSV
body as a string) and ``outputs`` (the predictions, or the error envelope). Each worker process writes
``predictions-<pid>.jsonl`` in the directory; a file that passes ``max_bytes`` is renamed to
``predictions-<pid>-<UTC timestamp>.jsonl`` and a new one started, and only the newest ``backups``
rotated files are kept.

A full queue (the disk cannot keep up) drops lines rather than slow down scoring; the number dropped
is written to the next line that makes it (``dropped``).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def _inputs(body: bytes, content_type: str) -> str:
    text = body.decode("utf-8", errors="replace")
    if content_type.startswith("application/json"):
        try:
            return json.dumps(json.loads(text), separators=(",", ":"))
        except ValueError:
            pass
    return json.dumps(text)


def format_entry(entry: Entry, dropped: int = 0) -> str:
    """One JSON line (the body and outputs are embedded as JSON, not re-encoded when already compact)."""
    head: dict[str, Any] = {
        "time": _dt.datetime.fromtimestamp(entry.at, _dt.UTC).isoformat(),
        "endpoint": entry.endpoint,
        "status": entry.status,
        "latency_ms": round(entry.latency_ms, 3),
        "rows": entry.rows,
        "model_name": entry.model.get("model_name"),
        "model_version": entry.model.get("model_version"),
        "model_id": entry.model.get("model_id"),
    }
    if dropped:
        head["dropped"] = dropped
    outputs = entry.outputs.decode("utf-8", errors="replace") if entry.outputs else "null"
    if "\n" in outputs:
        outputs = json.dumps(json.loads(outputs), separators=(",", ":"))
    inputs = _inputs(entry.body, entry.content_type)
    return f'{json.dumps(head, separators=(",", ":"))[:-1]},"inputs":{inputs},"outputs":{outputs}}}\n'


class PredictionLog:
    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = 64 << 20, backups: int = 10) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.backups = backups
        self._queue: queue.Queue[Entry | None] = queue.Queue(maxsize=10_000)
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="dockyard-prediction-log", daemon=True)
        self._thread.start()

    @property
    def path(self) -> Path:
        return self.directory / f"predictions-{os.getpid()}.jsonl"

    def write(self, entry: Entry) -> None:
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self._dropped += 1

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        fh = self.path.open("a", encoding="utf-8")
        try:
            while True:
                entry = self._queue.get()
                if entry is None:
                    return
                dropped, self._dropped = self._dropped, 0
                try:
                    fh.write(format_entry(entry, dropped))
                except (ValueError, TypeError) as exc:
                    log.warning("could not write a prediction log line: %s", exc)
                    continue
                if self._queue.empty():
                    fh.flush()
                if fh.tell() >= self.max_bytes:
                    fh.close()
                    self._rotate()
                    fh = self.path.open("a", encoding="utf-8")
        finally:
            fh.close()

    def _rotate(self) -> None:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        self.path.rename(self.directory / f"predictions-{os.getpid()}-{stamp}.jsonl")
        rotated = sorted(self.directory.glob(f"predictions-{os.getpid()}-*.jsonl"))
        for old in rotated[: max(0, len(rotated) - self.backups)]:
            old.unlink(missing_ok=True)
