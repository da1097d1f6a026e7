"""Metrics that several worker processes of one server share, and the Prometheus text format.

With ``--workers N`` a scrape of ``/metrics`` reaches one worker, yet should answer for all of them. Each
worker publishes its figures (plain data: :data:`Family`) to a file of its own in a folder the workers
share, at most once a second and atomically (written aside, then renamed); the worker scraped adds the
others' latest files to its own live figures with :func:`merge`: counters and histograms are summed,
gauges take the largest value among live workers, ``_created`` the earliest. A worker that died keeps its
counts (totals never go down when the supervisor replaces it) but not its gauges.

Used by the tracking server (``server.metrics``) and the scoring server (``serving.metrics``); no
third-party import.

>>> print(render([("up", "gauge", "Whether it runs.", [("up", {"worker": "1"}, 1.0)])]).decode(), end="")
# HELP up Whether it runs.
# TYPE up gauge
up{worker="1"} 1.0
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path

Sample = tuple[str, dict[str, str], float]
Family = tuple[str, str, str, list[Sample]]  # name, type (counter, gauge, histogram), help, samples

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PUBLISH_INTERVAL = 1.0  # seconds between a worker's snapshots: a scrape sees other workers this late at most
SNAPSHOT_PREFIX = "worker-"


def merge(snapshots: list[list[Family]], live: list[bool]) -> list[Family]:
    """One set of families from several workers' snapshots (``live[i]``: whether worker ``i`` runs).

    >>> a = [("n", "counter", "h", [("n_total", {"x": "1"}, 2.0)]), ("g", "gauge", "h", [("g", {}, 1.0)])]
    >>> b = [("n", "counter", "h", [("n_total", {"x": "1"}, 3.0)]), ("g", "gauge", "h", [("g", {}, 0.0)])]
    >>> [(name, samples) for name, _t, _h, samples in merge([a, b], [True, False])]
    [('n', [('n_total', {'x': '1'}, 5.0)]), ('g', [('g', {}, 1.0)])]
    """
    families: dict[str, tuple[str, str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]] = {}
    for families_of_worker, alive in zip(snapshots, live, strict=True):
        for name, kind, documentation, samples in families_of_worker:
            _kind, _doc, values = families.setdefault(name, (kind, documentation, {}))
            for sample_name, labels, value in samples:
                key = (sample_name, tuple(sorted(labels.items())))
                if sample_name.endswith("_created"):
                    values[key] = min(values.get(key, value), value)
                elif kind == "gauge":
                    if alive:
                        values[key] = max(values.get(key, value), value)
                else:
                    values[key] = values.get(key, 0.0) + value
    return [
        (name, kind, documentation, [(sample, dict(labels), value) for (sample, labels), value in values.items()])
        for name, (kind, documentation, values) in families.items()
    ]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(families: list[Family]) -> bytes:
    """The Prometheus text exposition format (version 0.0.4) of ``families``."""
    lines: list[str] = []
    for name, kind, documentation, samples in families:
        lines.append(f"# HELP {name} {_escape(documentation)}")
        lines.append(f"# TYPE {name} {kind}")
        for sample_name, labels, value in samples:
            shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            lines.append(f"{sample_name}{{{shown}}} {_number(value)}" if shown else f"{sample_name} {_number(value)}")
    return ("\n".join(lines) + "\n").encode()


class SharedFolder:
    """One worker's side of the shared folder: writes ``snapshot()`` there every PUBLISH_INTERVAL seconds
    and reads the other workers' files when scraped."""

    def __init__(self, folder: str | Path, snapshot: Callable[[], list[Family]]) -> None:
        self.folder = Path(folder)
        self.snapshot = snapshot
        self.pid = os.getpid()
        self.path = self.folder / f"{SNAPSHOT_PREFIX}{self.pid}.json"
        self._stop = threading.Event()
        self.publish()
        self._thread = threading.Thread(target=self._run, name="dockyard-metrics-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(PUBLISH_INTERVAL):
            self.publish()

    def publish(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(self.snapshot()))
            os.replace(temporary, self.path)
        except OSError:  # a full or vanished folder: this worker's figures are missing from others' scrapes
            temporary.unlink(missing_ok=True)

    def merged(self, own: list[Family]) -> tuple[list[Family], int]:
        """``own`` figures plus the other workers' latest, and how many live workers were summed."""
        others: list[list[Family]] = []
        live: list[bool] = []
        for path in sorted(self.folder.glob(f"{SNAPSHOT_PREFIX}*.json")):
            pid = path.stem[len(SNAPSHOT_PREFIX) :]
            if not pid.isdigit() or int(pid) == self.pid:
                continue
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):  # removed meanwhile, or not a snapshot
                continue
            others.append([(n, t, h, [(sn, lb, v) for sn, lb, v in ss]) for n, t, h, ss in data])
            live.append(_alive(int(pid)))
        return merge([own, *others], [True, *live]), 1 + sum(live)

    def stop(self) -> None:
        self._stop.set()
        self.publish()  # the last figures stay for the others (a dead worker's counts are kept)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
