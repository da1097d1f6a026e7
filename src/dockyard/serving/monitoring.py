"""``dockyard serve --monitor``: a rolling window of the served inputs and drift gauges on ``/metrics``.

The window keeps the last ``size`` values of each column the model's training profile describes
(:mod:`dockyard.models.profile`), fed from every successful request. At each scrape of ``/metrics`` the
population stability index of each column against the profile is exported as the gauge
``dockyard_serving_feature_psi{feature="..."}``, with ``dockyard_serving_monitor_window_rows``. Only
numpy is needed (no SciPy, no pandas), so a serving bundle can monitor too. With several workers, each
answers for its own window. ``dockyard monitor`` does the full tests (KS, chi-squared, nulls) on the
prediction log; these gauges are for dashboards and alerts (a PSI over 0.2 is the usual "shifted").

>>> window = DriftWindow({"columns": {"c": {"kind": "categorical", "categories": {"a": 0.5, "b": 0.5}}}}, 100)
>>> window.observe_columns({"c": ["a", "b"] * 20})
>>> round(window.psi()["c"], 3), window.rows
(0.0, 40)
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from dockyard.models.profile import categorical_psi, numeric_psi

DEFAULT_WINDOW = 1000


class DriftWindow:
    """The newest ``size`` values of each profiled column; thread-safe (requests finish on several threads)."""

    def __init__(self, profile: dict[str, Any], size: int = DEFAULT_WINDOW) -> None:
        self.profile = profile
        self.columns: dict[str, dict[str, Any]] = dict(profile.get("columns") or {})
        self.size = size
        self._values: dict[str, deque[Any]] = {c: deque(maxlen=size) for c in self.columns}
        self._lock = threading.Lock()
        self.rows = 0

    def observe_columns(self, columns: dict[str, Any]) -> None:
        """Add a table given as column name -> values (columns the profile does not describe are ignored)."""
        with self._lock:
            added = 0
            for name, values in columns.items():
                window = self._values.get(str(name))
                if window is not None:
                    items = list(values)
                    window.extend(items)
                    added = max(added, len(items))
            self.rows = min(self.size, self.rows + added)

    def observe(
        self, data: Any, columns: tuple[str, ...] | None = None, records: list[list[Any]] | None = None
    ) -> None:
        """Add one request's input: JSON rows with their column names, a DataFrame, or a dict of columns."""
        if records is not None and columns:
            self.observe_columns({c: [row[i] for row in records] for i, c in enumerate(columns)})
        elif hasattr(data, "columns") and hasattr(data, "__getitem__"):  # a DataFrame
            self.observe_columns({str(c): data[c].tolist() for c in data.columns})
        elif isinstance(data, dict):
            self.observe_columns({str(k): v if isinstance(v, list) else [v] for k, v in data.items()})

    def psi(self) -> dict[str, float]:
        """Each column's PSI over the window against its training profile (columns with no values left out)."""
        with self._lock:
            snapshot = {c: list(v) for c, v in self._values.items() if v}
        out: dict[str, float] = {}
        for name, values in snapshot.items():
            column = self.columns[name]
            if column.get("kind") == "numeric":
                numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
                value = numeric_psi(column, numbers)
            else:
                value = categorical_psi(column, [v for v in values if v is not None])
            if value is not None:
                out[name] = value
        return out

    def render(self) -> bytes:
        """The gauges in Prometheus text format."""
        from dockyard.core.shared_metrics import render

        psi = [("dockyard_serving_feature_psi", {"feature": name}, value) for name, value in sorted(self.psi().items())]
        return render(
            [
                (
                    "dockyard_serving_feature_psi",
                    "gauge",
                    "Population stability index of a feature over the monitoring window, against the training profile.",
                    psi,
                ),
                (
                    "dockyard_serving_monitor_window_rows",
                    "gauge",
                    "Rows in the monitoring window.",
                    [("dockyard_serving_monitor_window_rows", {}, float(self.rows))],
                ),
            ]
        )


def drift_window(model: Any, size: int) -> DriftWindow | None:
    """The window for a served model (``ServedModel``), or None when it was logged without a training profile."""
    from pathlib import Path

    from dockyard.models.profile import read_profile

    path = getattr(model.predictor, "path", None)
    profile = None if path is None else read_profile(Path(path))
    return None if profile is None else DriftWindow(profile, size)
