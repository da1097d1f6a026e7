"""``dockyard validate`` / ``dockyard.validate``: measure a model on labelled data, check rules, record the outcome.

One validation: read the data (Parquet, CSV, JSON Lines or a DataFrame) and split off the target; load
the model (and the baseline, when given); check the data against the model's signature (a mismatch is
bad input) and against its training profile (drift is reported, and measurable by rules as ``max_psi``
and ``drifted_columns``); predict; compute the task's metrics with scikit-learn, one-row and batch
latency, and the comparison with the baseline; evaluate each rule (:mod:`dockyard.registry.gate_rules`).

When the model is a registered version (``models:/NAME/VERSION``, ``models:/NAME@ALIAS``...), the report
(JSON and HTML) is logged to the version's run under ``validations/``, the outcome is written on the
version as ``validation.*`` tags, and a validation record goes to the registry, where gates read it.
``gate="champion"`` takes the rules of the alias's gate, and its current holder as the baseline.

Bad input (no such file or column, empty data, a rule that does not parse, an unknown metric, data the
signature refuses) raises a :class:`~dockyard.core.errors.DockyardError`; a failed rule does not raise:
the result's ``passed`` is False (``dockyard validate`` exits 1).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.core.clock import now_ms
from dockyard.core.errors import InvalidParameter
from dockyard.delivery import metrics as mt
from dockyard.delivery.data import read_table, split_target
from dockyard.delivery.drift import DriftReport, data_drift
from dockyard.models.profile import read_profile
from dockyard.models.uris import parse_model_uri
from dockyard.registry.gate_rules import Rule, parse_rule
from dockyard.registry.gates import ALIAS, STAGE, RuleResult, Validation

if TYPE_CHECKING:
    from dockyard.lifecycle.client import Client
    from dockyard.registry.protocol import RegistryAPI

LATENCY_ROWS = 50  # one-row predictions timed for the latency percentiles
TAG_PREFIX = "validation."


@dataclass
class Scored:
    """One model's outputs on the data: predictions, probabilities (classifiers that give them), timings."""

    uri: str
    directory: Path
    predictions: Any
    proba: Any = None
    classes: Any = None
    latencies_ms: list[float] = field(default_factory=list)
    batch_ms: float = 0.0
    profile: dict[str, Any] | None = None


@dataclass
class ValidationResult:
    """What one validation found; ``passed`` is True when every rule holds (and there is at least one)."""

    model_uri: str
    task: str
    metrics: dict[str, float]
    results: list[RuleResult]
    data: dict[str, Any]
    name: str | None = None
    version: int | None = None
    baseline_uri: str | None = None
    baseline_version: int | None = None
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    drift: DriftReport | None = None
    skipped: list[str] = field(default_factory=list)  # gate rules with no baseline to compare with
    record: Validation | None = None
    report_uri: str | None = None
    report_files: list[Path] = field(default_factory=list)
    timestamp: int = 0
    extras: dict[str, Any] = field(default_factory=dict)  # plots' data: confusion matrix, residuals

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        from dockyard.registry.gates import encode_result

        return {
            "model_uri": self.model_uri,
            "name": self.name,
            "version": self.version,
            "task": self.task,
            "passed": self.passed,
            "timestamp": self.timestamp,
            "results": [encode_result(r) for r in self.results],
            "skipped": list(self.skipped),
            "metrics": dict(self.metrics),
            "baseline": {"uri": self.baseline_uri, "version": self.baseline_version, "metrics": self.baseline_metrics},
            "data": dict(self.data),
            "drift": None if self.drift is None else self.drift.to_dict(),
            "validation_id": None if self.record is None else self.record.validation_id,
            "report_uri": self.report_uri,
            "extras": self.extras,
        }


# ---------------------------------------------------------------------- loading and scoring


def _load(client: Client, uri: str, allow_pickle: bool | None) -> tuple[Any, Path]:
    from dockyard.lifecycle.resolution import ModelResolver, registry_lookup
    from dockyard.models.loading import load_predictor

    directory = ModelResolver(client, registry_lookup(client.registry)).fetch(uri)
    return load_predictor(directory, allow_pickle=allow_pickle), directory


def _flat(predictions: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return predictions.iloc[:, 0].to_numpy() if predictions.shape[1] == 1 else predictions.to_numpy()
    if isinstance(predictions, pd.Series):
        return predictions.to_numpy()
    array = np.asarray(predictions)
    return array.ravel() if array.ndim == 2 and array.shape[1] == 1 else array


def _score(predictor: Any, directory: Path, uri: str, features: Any, latency_rows: int) -> Scored:
    import numpy as np

    prepared, _ = predictor.prepare(features)  # the signature check: raises ModelInputError on a mismatch
    start = time.perf_counter()
    predictions = _flat(predictor.predict(features))
    batch_ms = (time.perf_counter() - start) * 1000
    if len(predictions) != len(features):
        raise InvalidParameter(f"model {uri}: {len(predictions)} predictions for {len(features)} rows")
    scored = Scored(uri, directory, predictions, batch_ms=batch_ms, profile=read_profile(directory))
    native = getattr(predictor, "native", None)
    predict_proba = getattr(native, "predict_proba", None)
    if callable(predict_proba):
        try:
            scored.proba = np.asarray(predict_proba(prepared))
            scored.classes = getattr(native, "classes_", None)
        except (AttributeError, NotImplementedError):
            scored.proba = None  # e.g. an SVC without probability=True: roc_auc and log_loss are not measured
    if np.ndim(predictions) == 2 and np.shape(predictions)[1] > 1:
        # A model whose predict gives class probabilities (predict_fn="predict_proba"): the label is the
        # most probable class.
        matrix = np.asarray(predictions, dtype="float64")
        if scored.proba is None:
            scored.proba = matrix
        classes = scored.classes if scored.classes is not None else np.arange(matrix.shape[1])
        scored.predictions = np.asarray(classes)[matrix.argmax(axis=1)]
    rows = min(latency_rows, len(features))
    predictor.predict(features.iloc[[0]])  # warm-up: the first call may pay lazy setup
    for i in range(rows):
        one = features.iloc[[i]]
        start = time.perf_counter()
        predictor.predict(one)
        scored.latencies_ms.append((time.perf_counter() - start) * 1000)
    return scored


def _latency_metrics(scored: Scored) -> dict[str, float]:
    import numpy as np

    out = {"batch_latency_ms": scored.batch_ms}
    if scored.latencies_ms:
        values = np.asarray(scored.latencies_ms)
        for q in (50, 95, 99):
            out[f"p{q}_latency_ms"] = float(np.percentile(values, q))
    return out


def _task_metrics(task: str, labels: Any, scored: Scored) -> dict[str, float]:
    if task == mt.CLASSIFIER:
        return mt.classifier_metrics(labels, scored.predictions, scored.proba, scored.classes)
    return mt.regressor_metrics(labels, scored.predictions)


# ---------------------------------------------------------------------- rules


def _rules(texts: Sequence[str]) -> list[Rule]:
    if isinstance(texts, str):
        raise InvalidParameter("rules must be a list of rules such as ['roc_auc >= 0.8']")
    rules: list[Rule] = []
    for text in texts:
        rule = parse_rule(text)
        mt.check_metric_name(rule.metric, text)
        if rule.text not in {r.text for r in rules}:
            rules.append(rule)
    return rules


def evaluate_rules(
    rules: Sequence[Rule], values: dict[str, float], baseline_values: dict[str, float], has_baseline: bool
) -> list[RuleResult]:
    out = []
    for rule in rules:
        value = values.get(rule.metric)
        base = baseline_values.get(rule.metric) if rule.relative else None
        detail = None
        if value is None:
            detail = f"{rule.metric} was not measured for this model and data"
        elif rule.uses_baseline and not has_baseline:
            detail = "no baseline model"
        elif rule.relative and base is None:
            detail = f"{rule.metric} was not measured for the baseline"
        out.append(RuleResult(rule.text, value, base, rule.holds(value, base), detail))
    return out


# ---------------------------------------------------------------------- the validation


def _registered(client: Client, uri: str) -> tuple[str | None, int | None, str | None]:
    """(name, version, run id) when ``uri`` names a registered version."""
    from dockyard.lifecycle.resolution import registry_lookup

    parsed = parse_model_uri(uri)
    if parsed.kind != "registered":
        return None, None, None
    found = registry_lookup(client.registry).version(parsed)
    return found.name, found.version, found.run_id


def _gate_baseline(registry: RegistryAPI, name: str, version: int, gate: str) -> tuple[list[str], int | None]:
    """(the gate's rules, the version holding its target now: None when nothing or ``version`` holds it)."""
    from dockyard.core.errors import AliasNotFound
    from dockyard.registry.entities import Stage

    kind, target = ALIAS, gate
    try:
        target = Stage.parse(gate).value
        kind = STAGE
    except ValueError:
        pass
    found = next((g for g in registry.get_gates(name) if g.kind == kind and g.target == target), None)
    if found is None:
        raise InvalidParameter(f"gate: registered model {name!r} has no gate on {kind} {target!r}")
    holder: int | None
    if kind == ALIAS:
        try:
            holder = registry.get_model_version_by_alias(name, target).version
        except AliasNotFound:
            holder = None
    else:
        latest = registry.get_latest_versions(name, [target])
        holder = latest[0].version if latest else None
    return list(found.rules), None if holder == version else holder


def validate(
    model_uri: str,
    data: Any,
    target: str,
    rules: Sequence[str] = (),
    baseline: str | None = None,
    task: str | None = None,
    *,
    gate: str | None = None,
    record: bool = True,
    output_dir: str | Path | None = None,
    latency_rows: int = LATENCY_ROWS,
    allow_pickle: bool | None = None,
    client: Client | None = None,
) -> ValidationResult:
    """Validate ``model_uri`` on ``data`` (labels in column ``target``) against ``rules``; see the module doc.

    ``baseline``: a model URI to compare with (``roc_auc >= baseline - 0.01``); ``task``: ``classifier``
    or ``regressor`` (default: inferred); ``gate``: an alias or stage whose gate's rules to check (and whose
    holder is the default baseline); ``record``: write the report, tags and record of a registered version;
    ``output_dir``: also write ``validation.json`` and ``validation.html`` there.
    """
    from dockyard.lifecycle import fluent

    client = client or fluent.current_client()
    checked_task = mt.check_task(task)
    if not isinstance(latency_rows, int) or isinstance(latency_rows, bool) or latency_rows < 0:
        raise InvalidParameter("latency_rows must be a whole number, 0 or more")
    parsed_rules = _rules(list(rules))
    name, version, run_id = _registered(client, model_uri)
    skipped: list[str] = []
    if gate is not None:
        if name is None or version is None:
            raise InvalidParameter(f"gate: {model_uri!r} is not a registered model version (use models:/NAME/VERSION)")
        gate_rules, holder = _gate_baseline(client.registry, name, version, gate)
        for rule in _rules(gate_rules):
            if rule.uses_baseline and holder is None and baseline is None:
                skipped.append(rule.text)
            elif rule.text not in {r.text for r in parsed_rules}:
                parsed_rules.append(rule)
        if baseline is None and holder is not None:
            baseline = f"models:/{name}/{holder}"
    if not parsed_rules and not skipped:
        raise InvalidParameter("rules: give at least one rule (e.g. --rule 'roc_auc >= 0.8') or a gate")
    if baseline is None:
        needing = [r.text for r in parsed_rules if r.uses_baseline]
        if needing:
            raise InvalidParameter(f"rule {needing[0]!r} compares with a baseline: give a baseline model URI")

    frame, digest = read_table(data)
    features, labels = split_target(frame, target)
    if features.shape[1] == 0:
        raise InvalidParameter(f"data: no feature columns besides the target {target!r}")
    predictor, directory = _load(client, model_uri, allow_pickle)
    scored = _score(predictor, directory, model_uri, features, latency_rows)
    chosen = checked_task or mt.infer_task(labels, scored.predictions, has_proba=scored.proba is not None)
    values = {**_task_metrics(chosen, labels, scored), **_latency_metrics(scored), "rows": float(len(features))}
    drift = None
    if scored.profile is not None:
        drift = data_drift(scored.profile, features, scored.predictions)
        values["max_psi"] = drift.max_psi
        values["drifted_columns"] = float(len([c for c in drift.columns if c.drifted]))

    base_values: dict[str, float] = {}
    baseline_version = None
    if baseline is not None:
        base_name, baseline_version, _ = _registered(client, baseline)
        if base_name is not None and name is not None and base_name != name:
            baseline_version = None  # another model's version: not a baseline of this model's gates
        base_predictor, base_dir = _load(client, baseline, allow_pickle)
        base = _score(base_predictor, base_dir, baseline, features, latency_rows)
        base_values = {**_task_metrics(chosen, labels, base), **_latency_metrics(base), "rows": float(len(features))}
        values.update(mt.comparison_metrics(chosen, scored.predictions, base.predictions, scored.proba, base.proba))

    result = ValidationResult(
        model_uri=model_uri,
        task=chosen,
        metrics=values,
        results=evaluate_rules(parsed_rules, values, base_values, baseline is not None),
        data={
            "source": data if isinstance(data, str) else str(data) if isinstance(data, Path) else "DataFrame",
            "rows": len(features),
            "columns": list(map(str, features.columns)),
            "target": target,
            "digest": digest,
            "profile": scored.profile is not None,
        },
        name=name,
        version=version,
        baseline_uri=baseline,
        baseline_version=baseline_version,
        baseline_metrics=base_values,
        drift=drift,
        skipped=skipped,
        timestamp=now_ms(),
        extras=_extras(chosen, labels, scored),
    )
    _write(client, result, run_id, record, output_dir)
    return result


def _extras(task: str, labels: Any, scored: Scored) -> dict[str, Any]:
    """What the HTML report plots: a confusion matrix, or up to 400 (actual, predicted) points."""
    import numpy as np

    y = np.asarray(labels).ravel()
    pred = np.asarray(scored.predictions).ravel()
    if task == mt.CLASSIFIER:
        classes = sorted({str(v) for v in y.tolist()} | {str(v) for v in pred.tolist()})[:20]
        index = {c: i for i, c in enumerate(classes)}
        matrix = [[0] * len(classes) for _ in classes]
        for actual, predicted in zip(y.tolist(), pred.tolist(), strict=True):
            a, p = index.get(str(actual)), index.get(str(predicted))
            if a is not None and p is not None:
                matrix[a][p] += 1
        return {"confusion": {"classes": classes, "matrix": matrix}}
    step = max(1, len(y) // 400)
    return {"points": [[float(a), float(p)] for a, p in zip(y[::step].tolist(), pred[::step].tolist(), strict=True)]}


def _write(
    client: Client, result: ValidationResult, run_id: str | None, record: bool, output_dir: str | Path | None
) -> None:
    from dockyard.delivery.report import write_report

    if output_dir is not None:
        folder = Path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        result.report_files = write_report(result, folder)
    if not record or result.name is None or result.version is None:
        return
    registry = client.registry
    if run_id is not None:
        artifact_path = f"validations/v{result.version}-{result.timestamp}"
        with tempfile.TemporaryDirectory(prefix="dockyard-validation-") as tmp:
            for path in write_report(result, Path(tmp)):
                client.log_artifact(run_id, str(path), artifact_path)
        result.report_uri = f"runs:/{run_id}/{artifact_path}"
    result.record = registry.log_validation(
        result.name,
        result.version,
        result.results,
        baseline_version=result.baseline_version,
        data_digest=result.data["digest"],
        metrics={k: v for k, v in result.metrics.items() if "(" not in k},
        report_uri=result.report_uri,
    )
    tags = {
        "status": "passed" if result.passed else "failed",
        "id": str(result.record.validation_id),
        "rules_failed": "; ".join(r.rule for r in result.failed),
        "data_digest": result.data["digest"],
        "baseline_version": "" if result.baseline_version is None else str(result.baseline_version),
    }
    for key, value in tags.items():
        registry.set_model_version_tag(result.name, result.version, TAG_PREFIX + key, value)
