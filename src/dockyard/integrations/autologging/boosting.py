"""Autologging for XGBoost and LightGBM: their native ``train`` and their scikit-learn API.

``xgboost.train`` / ``lightgbm.train`` log the params dict and ``num_boost_round``, every evaluation
result per iteration (``{eval name}-{metric}``, e.g. ``train-logloss`` at steps 0, 1, ...) and the
booster. The scikit-learn classes (``XGBClassifier``, ``LGBMRegressor``, ...) log what a
scikit-learn estimator logs (params, ``training_*`` metrics, the training data, the model) plus the
per-iteration evaluation results of ``eval_set``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.integrations.autologging import patching
from dockyard.integrations.autologging.patching import AutologConfig
from dockyard.integrations.autologging.sklearn import log_estimator_fit


def _subclasses(root: type) -> list[type]:
    found = [root]
    sub: type
    for sub in root.__subclasses__():
        found.extend(c for c in _subclasses(sub) if c not in found)
    return found


def _flatten(results: dict[str, dict[str, list[float]]]) -> dict[str, list[float]]:
    """``{"validation_0": {"logloss": [...]}}`` -> ``{"validation_0-logloss": [...]}``."""
    return {
        f"{data}-{metric}": list(values) for data, by_metric in results.items() for metric, values in by_metric.items()
    }


def _train_params(args: tuple[Any, ...], kwargs: dict[str, Any], default_rounds: int) -> dict[str, Any]:
    params = dict(args[0] if args else kwargs.get("params") or {})
    rounds = args[2] if len(args) > 2 else kwargs.get("num_boost_round", default_rounds)
    return {**params, "num_boost_round": rounds}


@dataclass(frozen=True)
class _Library:
    """What differs between XGBoost and LightGBM; the patching and logging are shared."""

    name: str  # import name, autolog integration and model flavor
    model_base: str  # the scikit-learn API's base class in the library's module
    default_rounds: int  # ``train``'s default ``num_boost_round``
    # before(self, args, kwargs) -> (args, kwargs, recorder): ``train`` called with an evaluation recorder
    record_evals: Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[Any, Any, Any]]
    # The per-iteration evaluation results of a fitted scikit-learn-API model ({} without ``eval_set``).
    fit_evals: Callable[[Any], dict[str, dict[str, list[float]]]]


def _xgb_record_evals(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    # xgboost.train(params, dtrain, num_boost_round=10, evals=(), ..., evals_result=None, ...)
    recorder = kwargs.get("evals_result")
    if recorder is None:
        recorder = {}
        kwargs = {**kwargs, "evals_result": recorder}
    return args, kwargs, recorder


def _xgb_fit_evals(model: Any) -> dict[str, dict[str, list[float]]]:
    try:
        return dict(model.evals_result())
    except Exception:  # XGBoost raises when fit had no eval_set
        return {}


def _lgb_record_evals(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    import lightgbm

    recorder: dict[str, Any] = {}
    callbacks = [*(kwargs.get("callbacks") or []), lightgbm.record_evaluation(recorder)]
    return args, {**kwargs, "callbacks": callbacks}, recorder


XGBOOST = _Library("xgboost", "XGBModel", 10, _xgb_record_evals, _xgb_fit_evals)
LIGHTGBM = _Library(
    "lightgbm", "LGBMModel", 100, _lgb_record_evals, lambda model: getattr(model, "evals_result_", None) or {}
)


def _enable(library: _Library, cfg: AutologConfig | None) -> None:
    """Patch ``<library>.train`` and the ``fit`` of every scikit-learn-API class (``cfg=None``: unpatch)."""
    name = library.name
    if cfg is None:
        patching.disable(name)
        return
    module = importlib.import_module(name)

    def train_after(run_id: str, cfg: AutologConfig, _: Any, args: Any, kwargs: Any, booster: Any, evals: Any) -> None:
        patching.log_params(name, run_id, _train_params(args, kwargs, library.default_rounds))
        patching.log_metric_histories(run_id, _flatten(evals or {}))
        if cfg.log_models:
            from dockyard.lifecycle.model_logging import log_model

            log_model(name, booster, "model", signature=False, run_id=run_id)

    def fit_after(run_id: str, cfg: AutologConfig, model: Any, args: Any, kwargs: Any, result: Any, _: Any) -> None:
        log_estimator_fit(name, name, run_id, cfg, model, args, kwargs)
        patching.log_metric_histories(run_id, _flatten(library.fit_evals(model)))

    classes = [cls for cls in _subclasses(getattr(module, library.model_base)) if "fit" in vars(cls)]
    targets: list[tuple[Any, str]] = [(module, "train"), *((cls, "fit") for cls in classes)]

    def make(original: Any) -> Any:
        if getattr(original, "__name__", "") == "train":
            return patching.wrap_function(name, original, train_after, library.record_evals)
        return patching.wrap_method(name, original, fit_after)

    patching.enable(name, cfg, targets, make)


def autolog_xgboost(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
) -> None:
    """Turn XGBoost autologging on (``xgboost.train`` and the scikit-learn API), or off."""
    _enable(XGBOOST, None if disable else AutologConfig(log_models, log_input_examples, log_datasets, silent))


def autolog_lightgbm(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
) -> None:
    """Turn LightGBM autologging on (``lightgbm.train`` and the scikit-learn API), or off."""
    _enable(LIGHTGBM, None if disable else AutologConfig(log_models, log_input_examples, log_datasets, silent))


__all__ = ["autolog_lightgbm", "autolog_xgboost"]
