"""Runs as a pandas DataFrame, with MLflow's column names (``metrics.x``, ``params.x``, ``tags.x``).

>>> from dockyard.tracking.entities import Run, RunInfo, RunData, RunStatus, LifecycleStage
>>> info = RunInfo("r1", "0", "n", "me", RunStatus.FINISHED, 1000, 2000, "/a", LifecycleStage.ACTIVE)
>>> df = runs_to_dataframe([Run(info, RunData(metrics={"loss": 0.5}, params={"lr": "0.1"}))])
>>> list(df.columns)
['run_id', 'experiment_id', 'status', 'artifact_uri', 'start_time', 'end_time', 'metrics.loss', 'params.lr']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.core.errors import MissingExtra
from dockyard.tracking.entities import Run

_BASE = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]


def runs_to_dataframe(runs: Sequence[Run]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise MissingExtra("pandas", "data") from None
    metric_keys = sorted({k for r in runs for k in r.data.metrics})
    param_keys = sorted({k for r in runs for k in r.data.params})
    tag_keys = sorted({k for r in runs for k in r.data.tags})
    columns: dict[str, list[Any]] = {name: [] for name in _BASE}
    columns.update({f"metrics.{k}": [] for k in metric_keys})
    columns.update({f"params.{k}": [] for k in param_keys})
    columns.update({f"tags.{k}": [] for k in tag_keys})
    for r in runs:
        i = r.info
        columns["run_id"].append(i.run_id)
        columns["experiment_id"].append(i.experiment_id)
        columns["status"].append(i.status.value)
        columns["artifact_uri"].append(i.artifact_uri)
        columns["start_time"].append(i.start_time)
        columns["end_time"].append(i.end_time)
        for k in metric_keys:
            columns[f"metrics.{k}"].append(r.data.metrics.get(k, float("nan")))
        for k in param_keys:
            columns[f"params.{k}"].append(r.data.params.get(k))
        for k in tag_keys:
            columns[f"tags.{k}"].append(r.data.tags.get(k))
    frame = pd.DataFrame(columns)
    for name in ("start_time", "end_time"):  # one conversion per column: always UTC, None -> NaT
        frame[name] = pd.to_datetime(pd.Series(columns[name], dtype="Int64"), unit="ms", utc=True)
    return frame
