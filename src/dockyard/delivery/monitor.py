"""``dockyard monitor``: drift of served inputs and predictions against the training profile, live performance.

It reads the scoring server's prediction log (``dockyard serve --prediction-log DIR``: JSON Lines or
Parquet files, one record per request, see :mod:`dockyard.serving.predlog`), keeps the successful
requests of the model version being watched, rebuilds the input rows (MLflow's ``dataframe_split``,
``dataframe_records``, ``instances`` and ``inputs`` bodies, the Open Inference Protocol's tensors, CSV) and
the predictions, and measures per-column drift and prediction drift (:mod:`dockyard.delivery.drift`).
With ``labels`` (a file with ``request_id``, optionally ``row``, and the label column), the predictions
are joined with what really happened, and live metrics computed (``live_accuracy``, ``live_rmse``...).

The results are logged as metrics of one monitoring run per model version (experiment
``dockyard-monitoring``; tagged with the version, and named on the version as the ``monitoring.run_id``
tag), one step per check, so they chart over time. An alarm (a drifted column, drifted predictions or a
failed ``rule``) is sent to the registry's webhooks as ``model_version.drift_detected``, and with
``rollback_alias`` the alias is rolled back through the registry's audited rollback.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.core.clock import now_ms
from dockyard.core.errors import InvalidParameter
from dockyard.delivery import metrics as mt
from dockyard.delivery.drift import DriftReport, Thresholds, data_drift
from dockyard.models.profile import read_profile
from dockyard.registry.gate_rules import parse_rule
from dockyard.registry.gates import RuleResult

if TYPE_CHECKING:
    from dockyard.lifecycle.client import Client

EXPERIMENT = "dockyard-monitoring"
MODEL_TAG = "dockyard.monitor.model"  # "<name>/<version>" on the monitoring run
RUN_TAG = "monitoring.run_id"  # on the model version: its monitoring run
MAX_RECORDS = 1_000_000


@dataclass
class MonitorResult:
    name: str
    version: int
    rows: int
    requests: int
    drift: DriftReport
    metrics: dict[str, float]
    results: list[RuleResult] = field(default_factory=list)
    run_id: str | None = None
    rolled_back_to: int | None = None
    labelled: int = 0

    @property
    def alarm(self) -> bool:
        return bool(self.drift.drifted) or any(not r.passed for r in self.results)

    @property
    def exit_code(self) -> int:
        return 1 if self.alarm else 0

    def to_dict(self) -> dict[str, Any]:
        from dockyard.registry.gates import encode_result

        return {
            "name": self.name,
            "version": self.version,
            "rows": self.rows,
            "requests": self.requests,
            "labelled": self.labelled,
            "alarm": self.alarm,
            "drift": self.drift.to_dict(),
            "metrics": self.metrics,
            "results": [encode_result(r) for r in self.results],
            "run_id": self.run_id,
            "rolled_back_to": self.rolled_back_to,
        }


# ---------------------------------------------------------------------- reading the log


def log_files(source: str | Path) -> list[Path]:
    """The complete log files at ``source`` (a file, or a directory of ``predictions-*`` files), oldest first."""
    path = Path(source)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InvalidParameter(f"predictions: no such file or directory {str(path)!r}")
    files = [p for p in path.iterdir() if p.is_file() and p.suffix in (".jsonl", ".parquet")]
    if not files:
        raise InvalidParameter(f"predictions: no prediction log files (*.jsonl, *.parquet) in {str(path)!r}")
    return sorted(files, key=lambda p: p.stat().st_mtime)


def read_records(source: str | Path) -> list[dict[str, Any]]:
    """Every record of the log, ``inputs`` and ``outputs`` decoded from JSON."""
    import pandas as pd

    records: list[dict[str, Any]] = []
    for path in log_files(source):
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            for row in frame.to_dict("records"):
                for key in ("inputs", "outputs"):
                    row[key] = json.loads(row[key]) if isinstance(row.get(key), str) else row.get(key)
                records.append(row)
        else:
            with path.open(encoding="utf-8") as fh:
                for number, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        raise InvalidParameter(f"predictions: {path.name} line {number} is not JSON") from None
        if len(records) > MAX_RECORDS:
            raise InvalidParameter(f"predictions: more than {MAX_RECORDS} records; point at fewer files")
    return records


def _rows(inputs: Any, columns: list[str]) -> Any:
    """The input rows of one request body as a DataFrame (``columns``: the profile's, for bare lists)."""
    import pandas as pd

    if isinstance(inputs, str):  # a CSV body
        return pd.read_csv(io.StringIO(inputs))
    if not isinstance(inputs, dict):
        raise ValueError("not a JSON object")
    if "dataframe_split" in inputs:
        split = inputs["dataframe_split"]
        return pd.DataFrame(split["data"], columns=split.get("columns"))
    if "dataframe_records" in inputs:
        return pd.DataFrame(inputs["dataframe_records"])
    body = inputs.get("instances", inputs.get("inputs"))
    if isinstance(body, list) and body and isinstance(body[0], dict) and "datatype" in body[0]:  # V2 tensors
        return pd.DataFrame({t["name"]: pd.Series(t["data"]).to_numpy().ravel() for t in body})
    if isinstance(body, dict):
        return pd.DataFrame(body)
    if isinstance(body, list):
        if body and isinstance(body[0], dict):
            return pd.DataFrame(body)
        frame = pd.DataFrame(body)
        if frame.shape[1] == len(columns):
            frame.columns = columns
        return frame
    raise ValueError("no inputs")


def _predictions(outputs: Any) -> list[Any]:
    if isinstance(outputs, dict) and "predictions" in outputs:
        values = outputs["predictions"]
    elif isinstance(outputs, dict) and isinstance(outputs.get("outputs"), list):  # V2
        values = outputs["outputs"][0]["data"]
    else:
        values = outputs
    if isinstance(values, dict):  # a column of a DataFrame's predictions
        values = next(iter(values.values()))
    out = []
    for v in values if isinstance(values, list) else [values]:
        if isinstance(v, dict):
            v = next(iter(v.values()), None)
        elif isinstance(v, list):
            v = v[0] if len(v) == 1 else max(range(len(v)), key=lambda i: v[i])  # probabilities: the argmax
        out.append(v)
    return out


def served_frame(
    records: Sequence[dict[str, Any]], version: int | None, columns: list[str]
) -> tuple[Any, Any, list[Any]]:
    """(the input rows, the predictions, each row's (request id, row)) of the successful requests of
    ``version`` (None: every version)."""
    import pandas as pd

    frames: list[Any] = []
    predictions: list[Any] = []
    keys: list[tuple[Any, int]] = []
    for rec in records:
        if rec.get("status") != 200:
            continue
        if version is not None and str(rec.get("model_version")) not in (str(version), "None", ""):
            continue
        try:
            rows = _rows(rec.get("inputs"), columns)
            preds = _predictions(rec.get("outputs"))
        except (ValueError, KeyError, TypeError, IndexError):
            continue  # a body this reader does not understand (a custom pyfunc's input): not measurable
        if len(preds) != len(rows):
            continue
        frames.append(rows)
        predictions.extend(preds)
        keys.extend((rec.get("request_id"), i) for i in range(len(rows)))
    if not frames:
        raise InvalidParameter("predictions: no successful request of this model version in the log")
    return pd.concat(frames, ignore_index=True), pd.Series(predictions), keys


def _join_labels(labels_path: str | Path, label_column: str, keys: list[Any], predictions: Any) -> tuple[Any, Any]:
    from dockyard.delivery.data import read_table

    frame, _ = read_table(str(labels_path), "labels")
    for needed in ("request_id", label_column):
        if needed not in frame.columns:
            raise InvalidParameter(f"labels: no column {needed!r} (its columns: {', '.join(frame.columns)})")
    by_row = "row" in frame.columns
    table = {
        ((str(r.request_id), int(r.row)) if by_row else str(r.request_id)): getattr(r, label_column)
        for r in frame.itertuples(index=False)
    }
    truth, predicted = [], []
    for (request_id, row), pred in zip(keys, predictions.tolist(), strict=True):
        key = (str(request_id), row) if by_row else str(request_id)
        if request_id is not None and key in table and (by_row or row == 0):
            truth.append(table[key])
            predicted.append(pred)
    return truth, predicted


# ---------------------------------------------------------------------- the check


def monitor(
    model_uri: str,
    predictions: str | Path,
    *,
    labels: str | Path | None = None,
    label_column: str = "label",
    rules: Sequence[str] = (),
    thresholds: Thresholds | None = None,
    rollback_alias: str | None = None,
    record: bool = True,
    client: Client | None = None,
) -> MonitorResult:
    """Check the served traffic of ``model_uri`` (a registered version) against its training profile; see
    the module doc. ``rules``: on the monitoring metrics (``max_psi <= 0.25``, ``live_accuracy >= 0.7``)."""
    from dockyard.lifecycle import fluent
    from dockyard.lifecycle.resolution import ModelResolver, registry_lookup
    from dockyard.models.uris import parse_model_uri

    client = client or fluent.current_client()
    parsed_rules = [parse_rule(r) for r in rules]
    parsed = parse_model_uri(model_uri)
    if parsed.kind != "registered":
        raise InvalidParameter(
            f"model_uri: {model_uri!r} is not a registered model (use models:/NAME@ALIAS or /VERSION)"
        )
    found = registry_lookup(client.registry).version(parsed)
    directory = ModelResolver(client, registry_lookup(client.registry)).fetch(f"models:/{found.name}/{found.version}")
    profile = read_profile(directory)
    if profile is None:
        raise InvalidParameter(
            f"model {found.name} version {found.version} has no training profile: log it with training_data=..."
        )
    records = read_records(predictions)
    columns = list(profile.get("columns") or {})
    frame, served_predictions, keys = served_frame(records, found.version, columns)
    drift = data_drift(profile, frame, served_predictions, thresholds)
    values: dict[str, float] = {
        "rows": float(len(frame)),
        "max_psi": drift.max_psi,
        "drifted_columns": float(len([c for c in drift.columns if c.drifted])),
    }
    for column in drift.columns:
        if column.psi is not None:
            values[f"psi.{column.column}"] = column.psi
        if column.p_value is not None:
            values[f"p_value.{column.column}"] = column.p_value
        values[f"null_rate.{column.column}"] = column.null_rate
    if drift.predictions is not None and drift.predictions.psi is not None:
        values["prediction_psi"] = drift.predictions.psi
    labelled = 0
    if labels is not None:
        truth, predicted = _join_labels(labels, label_column, keys, served_predictions)
        labelled = len(truth)
        if truth:
            task = mt.infer_task(truth, predicted, has_proba=False)
            live = (
                mt.classifier_metrics(truth, predicted)
                if task == mt.CLASSIFIER
                else mt.regressor_metrics(truth, predicted)
            )
            values.update({f"live_{k}": v for k, v in live.items()})
        values["labelled_rows"] = float(labelled)
    results = [RuleResult(r.text, values.get(r.metric), None, r.holds(values.get(r.metric))) for r in parsed_rules]
    result = MonitorResult(
        found.name,
        found.version,
        len(frame),
        len({k[0] for k in keys}),
        drift,
        values,
        results,
        labelled=labelled,
    )
    if record:
        result.run_id = _log_run(client, result)
    if result.alarm:
        client.registry.report_drift(
            found.name,
            found.version,
            drifted=[c.column for c in drift.drifted],
            failed_rules=[r.rule for r in results if not r.passed],
            metrics={k: v for k, v in values.items() if "." not in k},
            run_id=result.run_id,
        )
        if rollback_alias is not None:
            reason = "monitoring: " + "; ".join(
                [f"{c.column} drifted" for c in drift.drifted] + [f"{r.rule} failed" for r in results if not r.passed]
            )
            result.rolled_back_to = client.registry.rollback(found.name, rollback_alias, reason=reason[:1000]).version
    return result


def _log_run(client: Client, result: MonitorResult) -> str:
    """Log the metrics to the version's monitoring run (made on first use), one step per check."""
    from dockyard.tracking.entities import Metric

    key = f"{result.name}/{result.version}"
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment is not None else client.create_experiment(EXPERIMENT)
    found = client.search_runs(
        [experiment_id], f"tags.`{MODEL_TAG}` = '{key.replace(chr(39), chr(39) * 2)}'", max_results=1
    )
    if found.items:
        run_id = found.items[0].info.run_id
    else:
        run = client.create_run(
            experiment_id, run_name=f"monitor {result.name} v{result.version}", tags={MODEL_TAG: key}
        )
        run_id = run.info.run_id
        client.registry.set_model_version_tag(result.name, result.version, RUN_TAG, run_id)
    history = client.get_metric_history(run_id, "rows")
    step = len(history)
    when = now_ms()
    client.log_batch(run_id, metrics=[Metric(k, float(v), when, step) for k, v in result.metrics.items()])
    client.flush()
    return str(run_id)
