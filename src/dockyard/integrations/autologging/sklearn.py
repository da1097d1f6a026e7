"""Autologging for scikit-learn: every estimator's ``fit`` logs params, training metrics, the model
and the training data.

Metric names are MLflow's: for a classifier ``training_accuracy_score``, ``training_precision_score``,
``training_recall_score``, ``training_f1_score`` (weighted averages), ``training_log_loss`` and
``training_roc_auc`` (when it has ``predict_proba``); for a regressor ``training_mean_squared_error``,
``training_root_mean_squared_error``, ``training_mean_absolute_error``, ``training_r2_score``; for both
``training_score`` (the estimator's own ``score``). A search (``GridSearchCV``, ``RandomizedSearchCV``)
also logs ``best_cv_score`` and its best params as ``best_<name>``.
"""

from __future__ import annotations

from typing import Any

from dockyard.integrations.autologging import patching
from dockyard.integrations.autologging.patching import AutologConfig

NAME = "sklearn"
# Meta-estimators: autologged like any estimator; the fits they make inside run unpatched.
_META = ("sklearn.pipeline.Pipeline", "sklearn.pipeline.FeatureUnion", "sklearn.compose.ColumnTransformer")


def _targets() -> list[tuple[Any, str]]:
    """Every scikit-learn class that defines ``fit`` itself (subclasses inherit the patched one)."""
    import importlib

    from sklearn.utils import all_estimators

    classes: list[type] = [cls for _, cls in all_estimators()]
    for dotted in _META:
        module, name = dotted.rsplit(".", 1)
        classes.append(getattr(importlib.import_module(module), name))
    seen: dict[type, None] = {}
    for cls in classes:
        for klass in cls.__mro__:
            if klass.__module__.startswith("sklearn.") and "fit" in vars(klass):
                seen.setdefault(klass)
    return [(cls, "fit") for cls in seen]


def fit_arrays(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(X, y, sample_weight) of a ``fit(X, y=None, sample_weight=None, ...)`` call."""
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    weight = args[2] if len(args) > 2 else kwargs.get("sample_weight")
    return x, y, weight


def training_metrics(estimator: Any, x: Any, y: Any, weight: Any = None) -> tuple[dict[str, float], list[str]]:
    """MLflow-named training metrics of a fitted estimator, and the names that could not be computed."""
    import numpy as np
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    skipped: list[str] = []
    if y is None:
        return out, skipped

    def add(name: str, compute: Any) -> None:
        try:
            out[name] = float(compute())
        except (ValueError, TypeError, AttributeError, IndexError):  # e.g. one class only, or no predict_proba
            skipped.append(name)

    kw = {} if weight is None else {"sample_weight": weight}
    if is_classifier(estimator):
        predicted = estimator.predict(x)
        add("training_accuracy_score", lambda: metrics.accuracy_score(y, predicted, **kw))
        add(
            "training_precision_score",
            lambda: metrics.precision_score(y, predicted, average="weighted", zero_division=0, **kw),
        )
        add(
            "training_recall_score",
            lambda: metrics.recall_score(y, predicted, average="weighted", zero_division=0, **kw),
        )
        add("training_f1_score", lambda: metrics.f1_score(y, predicted, average="weighted", zero_division=0, **kw))
        if hasattr(estimator, "predict_proba"):
            proba = np.asarray(estimator.predict_proba(x))
            labels = getattr(estimator, "classes_", None)
            add("training_log_loss", lambda: metrics.log_loss(y, proba, labels=labels, **kw))
            if proba.ndim == 2 and proba.shape[1] == 2:
                add("training_roc_auc", lambda: metrics.roc_auc_score(y, proba[:, 1], **kw))
            else:
                add(
                    "training_roc_auc",
                    lambda: metrics.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=labels, **kw),
                )
    elif is_regressor(estimator):
        predicted = estimator.predict(x)
        add("training_mean_squared_error", lambda: metrics.mean_squared_error(y, predicted, **kw))
        add("training_root_mean_squared_error", lambda: np.sqrt(metrics.mean_squared_error(y, predicted, **kw)))
        add("training_mean_absolute_error", lambda: metrics.mean_absolute_error(y, predicted, **kw))
        add("training_r2_score", lambda: metrics.r2_score(y, predicted, **kw))
    if hasattr(estimator, "score"):
        add("training_score", lambda: estimator.score(x, y, **kw) if kw else estimator.score(x, y))
    return out, skipped


def log_fitted_model(flavor: str, run_id: str, cfg: AutologConfig, model: Any, x: Any) -> None:
    """Log ``model`` with ``dockyard.<flavor>.log_model`` as ``model``: signature from the training data
    and the model's predictions on its first rows, those rows as input example, and the training profile
    of the data (see :mod:`dockyard.models.profile`)."""
    from dockyard.lifecycle.model_logging import log_model
    from dockyard.models.infer import infer_signature

    sample = patching.head(x)
    signature: Any = False
    if sample is not None:
        output = model.predict(sample) if hasattr(model, "predict") else None
        signature = infer_signature(sample, output)
    log_model(
        flavor,
        model,
        "model",
        signature=signature,
        input_example=sample if cfg.log_input_examples else None,
        run_id=run_id,
        training_data=_table(x),
    )


def _table(x: Any) -> Any:
    """``x`` when it is a table a training profile can describe (a DataFrame or a 2-D array); sparse
    matrices and other inputs get no profile."""
    import numpy as np

    if type(x).__name__ == "DataFrame" or (isinstance(x, np.ndarray) and x.ndim == 2):
        return x
    return None


def log_estimator_fit(
    flavor: str, integration: str, run_id: str, cfg: AutologConfig, estimator: Any, args: Any, kwargs: Any
) -> None:
    """What any scikit-learn-API ``fit`` logs: params, training metrics, the training data and the model."""
    x, y, weight = fit_arrays(args, kwargs)
    patching.log_params(integration, run_id, estimator.get_params(deep=True))
    values, skipped = training_metrics(estimator, x, y, weight)
    if skipped:
        patching.warn(integration, f"could not compute {skipped} for {type(estimator).__name__}")
    if hasattr(estimator, "best_params_") and hasattr(estimator, "best_score_"):
        values["best_cv_score"] = float(estimator.best_score_)
        patching.log_params(integration, run_id, {f"best_{k}": v for k, v in estimator.best_params_.items()})
    patching.log_metrics(run_id, values)
    if cfg.log_datasets and x is not None:
        patching.log_training_dataset(run_id, x, y)
    if cfg.log_models:
        log_fitted_model(flavor, run_id, cfg, estimator, x)


def _after(run_id: str, cfg: AutologConfig, estimator: Any, args: Any, kwargs: Any, result: Any, extra: Any) -> None:
    log_estimator_fit("sklearn", NAME, run_id, cfg, estimator, args, kwargs)


def autolog(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
) -> None:
    """Turn scikit-learn autologging on (or off with ``disable=True``, which restores every ``fit``)."""
    if disable:
        patching.disable(NAME)
        return
    cfg = AutologConfig(log_models, log_input_examples, log_datasets, silent)
    patching.enable(NAME, cfg, _targets(), lambda original: patching.wrap_method(NAME, original, _after))
