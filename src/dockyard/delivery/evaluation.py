"""``dockyard.evaluate``: ``mlflow.evaluate``'s arguments and result for classic models, so scripts move over.

``evaluate(model, data, targets=..., model_type="classifier" | "regressor", evaluators="default",
validation_thresholds={...}, baseline_model=...)`` computes MLflow's default metric names
(``accuracy_score``, ``f1_score``, ``roc_auc``... for classifiers; ``root_mean_squared_error``,
``r2_score``... for regressors; ``example_count`` for both) with scikit-learn, logs them to the active
run (one is started and ended when none is active), and returns an :class:`EvaluationResult`. When a
threshold is missed it raises :class:`~dockyard.core.errors.ModelValidationFailed` (also importable as
``ModelValidationFailedException``), naming each metric, as MLflow does. Thresholds are Dockyard rules
underneath (:mod:`dockyard.registry.gate_rules`); for a gate the registry enforces, use
``dockyard.validate``.

>>> MetricThreshold(threshold=0.8, greater_is_better=True).rules("accuracy_score")
['accuracy_score >= 0.8']
>>> MetricThreshold(min_absolute_change=0.01, min_relative_change=0.05, greater_is_better=False).rules("log_loss")
['log_loss <= baseline - 0.01', 'log_loss <= baseline * 0.95']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.core.errors import InvalidParameter, ModelValidationFailed
from dockyard.delivery import metrics as mt
from dockyard.lifecycle import fluent
from dockyard.registry.gate_rules import parse_rule

ModelValidationFailedException = ModelValidationFailed  # MLflow's name, for scripts that catch it

# MLflow's default metric names <- Dockyard's.
CLASSIFIER_NAMES = {
    "accuracy_score": "accuracy",
    "precision_score": "precision",
    "recall_score": "recall",
    "f1_score": "f1",
    "roc_auc": "roc_auc",
    "log_loss": "log_loss",
}
REGRESSOR_NAMES = {
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
    "r2_score": "r2",
    "mean_absolute_percentage_error": "mape",
    "max_error": "max_error",
}
LOWER_IS_BETTER = {
    "log_loss",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "max_error",
}


@dataclass(frozen=True)
class MetricThreshold:
    """MLflow's ``MetricThreshold``: an absolute bound, and/or a minimum change against the baseline."""

    threshold: float | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    greater_is_better: bool | None = None

    def rules(self, metric: str) -> list[str]:
        better = self.greater_is_better if self.greater_is_better is not None else metric not in LOWER_IS_BETTER
        op = ">=" if better else "<="
        out = []
        if self.threshold is not None:
            out.append(f"{metric} {op} {float(self.threshold)!r}")
        if self.min_absolute_change is not None:
            out.append(f"{metric} {op} baseline {'+' if better else '-'} {abs(float(self.min_absolute_change))!r}")
        if self.min_relative_change is not None:
            factor = 1 + abs(float(self.min_relative_change)) * (1 if better else -1)
            out.append(f"{metric} {op} baseline * {factor!r}")
        return [parse_rule(r).text for r in out]


@dataclass
class EvaluationResult:
    """MLflow's ``EvaluationResult``: ``metrics`` by MLflow's names, ``artifacts`` (none here)."""

    metrics: dict[str, float]
    artifacts: dict[str, Any] = field(default_factory=dict)
    baseline_model_metrics: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None


def _threshold(value: Any, metric: str) -> MetricThreshold:
    if isinstance(value, MetricThreshold):
        return value
    fields = ("threshold", "min_absolute_change", "min_relative_change", "greater_is_better")
    if all(hasattr(value, f) for f in fields):  # mlflow.models.MetricThreshold, read by attribute
        return MetricThreshold(*(getattr(value, f) for f in fields))
    raise InvalidParameter(f"validation_thresholds[{metric!r}]: expected a MetricThreshold, not {type(value).__name__}")


def _outputs(model: Any, features: Any) -> tuple[Any, Any, Any]:
    """(predictions, probabilities or None, classes or None) of a model object or URI."""
    import numpy as np

    from dockyard.delivery.validation import _flat

    if isinstance(model, str):
        from dockyard.lifecycle.model_logging import load_model

        model = load_model(model)
    if not callable(getattr(model, "predict", None)):
        raise InvalidParameter(f"model: expected a model URI or an object with predict(), not {type(model).__name__}")
    predictions = _flat(model.predict(features))
    native = getattr(model, "native", model)
    predict_proba = getattr(native, "predict_proba", None)
    proba = None
    if callable(predict_proba):
        prepared = model.prepare(features)[0] if callable(getattr(model, "prepare", None)) else features
        proba = np.asarray(predict_proba(prepared))
    return predictions, proba, getattr(native, "classes_", None)


def _named(model_type: str, labels: Any, outputs: tuple[Any, Any, Any]) -> dict[str, float]:
    predictions, proba, classes = outputs
    if model_type == mt.CLASSIFIER:
        ours, names = mt.classifier_metrics(labels, predictions, proba, classes), CLASSIFIER_NAMES
    else:
        ours, names = mt.regressor_metrics(labels, predictions), REGRESSOR_NAMES
    out = {theirs: ours[mine] for theirs, mine in names.items() if mine in ours}
    out["example_count"] = float(len(predictions))
    return out


def evaluate(
    model: Any = None,
    data: Any = None,
    *,
    model_type: str | None = None,
    targets: Any = None,
    evaluators: str | list[str] | None = None,
    validation_thresholds: Mapping[str, Any] | None = None,
    baseline_model: Any = None,
    feature_names: list[str] | None = None,
    evaluator_config: dict[str, Any] | None = None,
) -> EvaluationResult:
    """Evaluate ``model`` on ``data`` as ``mlflow.evaluate`` does for classic models; see the module doc."""
    import numpy as np
    import pandas as pd

    from dockyard.delivery.data import split_target

    if evaluators not in (None, "default", ["default"]):
        raise InvalidParameter(f"evaluators: only 'default' is supported, not {evaluators!r}")
    if evaluator_config:
        raise InvalidParameter("evaluator_config: not supported by dockyard.evaluate")
    task = mt.check_task(model_type)
    if task is None:
        raise InvalidParameter("model_type: give 'classifier' or 'regressor'")
    if model is None or data is None or targets is None:
        raise InvalidParameter("evaluate needs model, data and targets")
    if isinstance(data, pd.DataFrame):
        frame = data
        if isinstance(targets, str):
            features, labels = split_target(frame, targets, "targets")
        else:
            features, labels = frame, np.asarray(targets)
    else:
        array = np.asarray(data)
        features = pd.DataFrame(array, columns=feature_names) if feature_names else pd.DataFrame(array)
        if isinstance(targets, str):
            raise InvalidParameter("targets: a column name needs data as a pandas DataFrame")
        labels = np.asarray(targets)
    if feature_names and isinstance(data, pd.DataFrame):
        features = features[list(feature_names)]
    if len(features) == 0:
        raise InvalidParameter("data: the data is empty")
    if len(labels) != len(features):
        raise InvalidParameter(f"targets: {len(labels)} labels for {len(features)} rows")

    metrics = _named(task, labels, _outputs(model, features))
    baseline = {} if baseline_model is None else _named(task, labels, _outputs(baseline_model, features))
    run_id = _log(metrics)
    failures = []
    for metric, raw in (validation_thresholds or {}).items():
        for text in _threshold(raw, metric).rules(metric):
            rule = parse_rule(text)
            if rule.relative and baseline_model is None:
                raise InvalidParameter(f"validation_thresholds[{metric!r}]: a minimum change needs a baseline_model")
            value, base = metrics.get(metric), baseline.get(metric)
            if value is None:
                raise InvalidParameter(f"validation_thresholds: no metric {metric!r} (computed: {', '.join(metrics)})")
            if not rule.holds(value, base):
                bound = rule.threshold(base)
                failures.append(
                    f"{metric} value {value:.6g} fails '{text}' (bound {bound:.6g})" if bound is not None else text
                )
    if failures:
        raise ModelValidationFailed("Model validation failed: " + "; ".join(failures))
    return EvaluationResult(metrics, baseline_model_metrics=baseline, run_id=run_id)


def _log(metrics: dict[str, float]) -> str:
    """Log to the active run; start (and end) one when none is active, as MLflow does."""
    active = fluent.active_run()
    if active is not None:
        fluent.log_metrics(metrics)
        return active.info.run_id
    with fluent.start_run() as run:
        fluent.log_metrics(metrics)
    return run.info.run_id
