"""The metrics a validation measures, by task, computed with scikit-learn.

Classification: ``accuracy``, ``precision``, ``recall``, ``f1`` (binary: of the positive class, the larger
label; more classes: weighted by support), ``roc_auc`` and ``log_loss`` (when the model gives
probabilities). Regression: ``rmse``, ``mse``, ``mae``, ``r2``, ``mape``, ``max_error``. Every task:
``p50_latency_ms``, ``p95_latency_ms``, ``p99_latency_ms`` (one row at a time), ``batch_latency_ms``
(the whole data in one call), ``rows``; against the training profile, ``max_psi`` (the largest
population stability index over the input columns) and ``drifted_columns``. Against a baseline model:
``max_abs_diff(baseline)`` and ``mean_abs_diff(baseline)`` (of the predictions, or of the positive-class
probabilities) and ``agreement(baseline)`` (the share of equal predictions).

>>> infer_task([0, 1, 1, 0], [0, 1, 0, 0], has_proba=False)
'classifier'
>>> infer_task([0.5, 1.2, 3.3], [0.4, 1.0, 3.0], has_proba=False)
'regressor'
"""

from __future__ import annotations

import math
from typing import Any

from dockyard.core.errors import InvalidParameter

CLASSIFIER, REGRESSOR = "classifier", "regressor"
TASKS = (CLASSIFIER, REGRESSOR)
TASK_ALIASES = {"classifier": CLASSIFIER, "classification": CLASSIFIER, "regressor": REGRESSOR, "regression": REGRESSOR}
CLASSIFIER_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSOR_METRICS = ("rmse", "mse", "mae", "r2", "mape", "max_error")
LATENCY_METRICS = ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "batch_latency_ms")
DATA_METRICS = ("rows", "max_psi", "drifted_columns")
BASELINE_METRICS = ("max_abs_diff(baseline)", "mean_abs_diff(baseline)", "agreement(baseline)")
MAX_DISCRETE_LABELS = 20  # integer labels with at most this many values and predictions among them: classes


def known_metrics() -> tuple[str, ...]:
    return CLASSIFIER_METRICS + REGRESSOR_METRICS + LATENCY_METRICS + DATA_METRICS + BASELINE_METRICS


def check_metric_name(metric: str, rule: str) -> None:
    if metric not in known_metrics():
        raise InvalidParameter(f"rule {rule!r}: unknown metric {metric!r} (known: {', '.join(known_metrics())})")


def check_task(task: str | None) -> str | None:
    if task is None:
        return None
    found = TASK_ALIASES.get(str(task).lower())
    if found is None:
        raise InvalidParameter(f"task {task!r}: use classifier or regressor")
    return found


def infer_task(labels: Any, predictions: Any, *, has_proba: bool) -> str:
    """Classification when the model gives probabilities or the labels are not numbers, or are few
    integers that the predictions stay among; regression otherwise."""
    import numpy as np
    import pandas as pd

    y = pd.Series(np.asarray(labels).ravel())
    if has_proba or not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return CLASSIFIER
    values = y.to_numpy(dtype="float64")
    if not np.all(np.mod(values, 1) == 0):
        return REGRESSOR
    classes = set(np.unique(values).tolist())
    if len(classes) > MAX_DISCRETE_LABELS:
        return REGRESSOR
    pred = np.asarray(predictions).ravel()
    try:
        return CLASSIFIER if set(np.unique(pred.astype("float64")).tolist()) <= classes else REGRESSOR
    except (TypeError, ValueError):
        return CLASSIFIER


def _clean(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def classifier_metrics(labels: Any, predictions: Any, proba: Any = None, classes: Any = None) -> dict[str, float]:
    """scikit-learn's scores; ``proba`` (rows x classes, in ``classes`` order) adds roc_auc and log_loss."""
    import numpy as np
    from sklearn import metrics as m

    y = np.asarray(labels).ravel()
    pred = np.asarray(predictions).ravel()
    if pred.shape != y.shape:
        raise InvalidParameter(f"predictions: {pred.shape[0]} for {y.shape[0]} labels")
    labels_seen = np.unique(np.concatenate([y.astype(str), pred.astype(str)]))
    try:
        y_cmp, pred_cmp = y, pred.astype(y.dtype)
    except (TypeError, ValueError):
        y_cmp, pred_cmp = y.astype(str), pred.astype(str)
    binary = len(np.unique(y_cmp)) <= 2 and len(labels_seen) <= 2
    out: dict[str, float] = {"accuracy": float(m.accuracy_score(y_cmp, pred_cmp))}
    if binary:
        positive = max(np.unique(np.concatenate([y_cmp, pred_cmp])).tolist())
        kwargs: dict[str, Any] = {"average": "binary", "pos_label": positive, "zero_division": 0}
    else:
        kwargs = {"average": "weighted", "zero_division": 0}
    out["precision"] = float(m.precision_score(y_cmp, pred_cmp, **kwargs))
    out["recall"] = float(m.recall_score(y_cmp, pred_cmp, **kwargs))
    out["f1"] = float(m.f1_score(y_cmp, pred_cmp, **kwargs))
    if proba is not None:
        p = np.asarray(proba, dtype="float64")
        order = list(classes) if classes is not None else list(range(p.shape[1]))
        present = np.unique(y_cmp)
        if len(present) >= 2:
            try:
                if p.ndim == 2 and p.shape[1] == 2:
                    out["roc_auc"] = float(m.roc_auc_score(y_cmp == order[1], p[:, 1]))
                elif p.ndim == 2:
                    out["roc_auc"] = float(m.roc_auc_score(y_cmp, p, multi_class="ovr", labels=order))
                out["log_loss"] = float(m.log_loss(y_cmp, p, labels=order))
            except ValueError:
                pass  # labels the model has no class for: roc_auc and log_loss are undefined, so not reported
    return {k: v for k, v in ((k, _clean(x)) for k, x in out.items()) if v is not None}


def regressor_metrics(labels: Any, predictions: Any) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as m

    y = np.asarray(labels, dtype="float64").ravel()
    pred = np.asarray(predictions, dtype="float64").ravel()
    if pred.shape != y.shape:
        raise InvalidParameter(f"predictions: {pred.shape[0]} for {y.shape[0]} labels")
    mse = float(m.mean_squared_error(y, pred))
    out = {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(m.mean_absolute_error(y, pred)),
        "r2": float(m.r2_score(y, pred)) if len(y) > 1 else float("nan"),
        "mape": float(m.mean_absolute_percentage_error(y, pred)),
        "max_error": float(m.max_error(y, pred)),
    }
    return {k: v for k, v in ((k, _clean(x)) for k, x in out.items()) if v is not None}


def comparison_metrics(task: str, candidate: Any, baseline: Any, cand_proba: Any, base_proba: Any) -> dict[str, float]:
    """How far the candidate's outputs are from the baseline's on the same rows."""
    import numpy as np

    a, b = np.asarray(candidate).ravel(), np.asarray(baseline).ravel()
    if a.shape != b.shape:
        raise InvalidParameter(f"baseline: {b.shape[0]} predictions for {a.shape[0]} rows")
    out: dict[str, float] = {"agreement(baseline)": float(np.mean(a.astype(str) == b.astype(str)))}
    if task == CLASSIFIER and cand_proba is not None and base_proba is not None:
        pa, pb = np.asarray(cand_proba, dtype="float64"), np.asarray(base_proba, dtype="float64")
        if pa.shape == pb.shape:
            diff = np.abs(pa - pb).max(axis=1)
        else:
            diff = (a.astype(str) != b.astype(str)).astype("float64")
    elif task == CLASSIFIER:
        diff = (a.astype(str) != b.astype(str)).astype("float64")
    else:
        diff = np.abs(a.astype("float64") - b.astype("float64"))
    out["max_abs_diff(baseline)"] = float(diff.max())
    out["mean_abs_diff(baseline)"] = float(diff.mean())
    return out
