"""Autologging for XGBoost and LightGBM: their native ``train`` and their scikit-learn API.

``xgboost.train`` / ``lightgbm.train`` log the params dict and ``num_boost_round``, every evaluation
result per iteration (``{eval name}-{metric}``, e.g. ``train-logloss`` at steps 0, 1, ...) and the
booster. The scikit-learn classes (``XGBClassifier``, ``LGBMRegressor``, ...) log what a
scikit-learn estimator logs (params, ``training_*`` metrics, the training data, the model) plus the
per-iteration evaluation results of ``eval_set``.
"""

from __future__ import annotations

from typing import Any

from dockyard.autologging import patching
from dockyard.autologging.patching import AutologConfig
from dockyard.autologging.sklearn import fit_arrays, log_estimator_fit


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


# -- XGBoost ---------------------------------------------------------------------------------------

XGBOOST = "xgboost"


def _xgb_before(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    # xgboost.train(params, dtrain, num_boost_round=10, evals=(), ..., evals_result=None, ...)
    recorder = kwargs.get("evals_result")
    if recorder is None:
        recorder = {}
        kwargs = {**kwargs, "evals_result": recorder}
    return args, kwargs, recorder


def _xgb_train_after(run_id: str, cfg: AutologConfig, _: Any, args: Any, kwargs: Any, booster: Any, evals: Any) -> None:
    patching.log_params(XGBOOST, run_id, _train_params(args, kwargs, 10))
    patching.log_metric_histories(run_id, _flatten(evals or {}))
    if cfg.log_models:
        from dockyard.model_api import log_model

        log_model(XGBOOST, booster, "model", signature=False, run_id=run_id)


def _xgb_fit_after(run_id: str, cfg: AutologConfig, model: Any, args: Any, kwargs: Any, result: Any, _: Any) -> None:
    log_estimator_fit(XGBOOST, XGBOOST, run_id, cfg, model, args, kwargs)
    try:
        results = model.evals_result()
    except Exception:  # XGBoost raises when fit had no eval_set
        results = {}
    patching.log_metric_histories(run_id, _flatten(results))


def autolog_xgboost(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
) -> None:
    """Turn XGBoost autologging on (``xgboost.train`` and the scikit-learn API), or off."""
    if disable:
        patching.disable(XGBOOST)
        return
    import xgboost

    cfg = AutologConfig(log_models, log_input_examples, log_datasets, silent)
    classes = [cls for cls in _subclasses(xgboost.XGBModel) if "fit" in vars(cls)]
    targets: list[tuple[Any, str]] = [(xgboost, "train"), *((cls, "fit") for cls in classes)]

    def make(original: Any) -> Any:
        if getattr(original, "__name__", "") == "train":
            return patching.wrap_function(XGBOOST, original, _xgb_train_after, _xgb_before)
        return patching.wrap_method(XGBOOST, original, _xgb_fit_after)

    patching.enable(XGBOOST, cfg, targets, make)


# -- LightGBM --------------------------------------------------------------------------------------

LIGHTGBM = "lightgbm"


def _lgb_before(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    import lightgbm

    recorder: dict[str, Any] = {}
    callbacks = [*(kwargs.get("callbacks") or []), lightgbm.record_evaluation(recorder)]
    return args, {**kwargs, "callbacks": callbacks}, recorder


def _lgb_train_after(run_id: str, cfg: AutologConfig, _: Any, args: Any, kwargs: Any, booster: Any, evals: Any) -> None:
    patching.log_params(LIGHTGBM, run_id, _train_params(args, kwargs, 100))
    patching.log_metric_histories(run_id, _flatten(evals or {}))
    if cfg.log_models:
        from dockyard.model_api import log_model

        log_model(LIGHTGBM, booster, "model", signature=False, run_id=run_id)


def _lgb_fit_after(run_id: str, cfg: AutologConfig, model: Any, args: Any, kwargs: Any, result: Any, _: Any) -> None:
    log_estimator_fit(LIGHTGBM, LIGHTGBM, run_id, cfg, model, args, kwargs)
    patching.log_metric_histories(run_id, _flatten(getattr(model, "evals_result_", None) or {}))


def autolog_lightgbm(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
) -> None:
    """Turn LightGBM autologging on (``lightgbm.train`` and the scikit-learn API), or off."""
    if disable:
        patching.disable(LIGHTGBM)
        return
    import lightgbm

    cfg = AutologConfig(log_models, log_input_examples, log_datasets, silent)
    classes = [cls for cls in _subclasses(lightgbm.LGBMModel) if "fit" in vars(cls)]
    targets: list[tuple[Any, str]] = [(lightgbm, "train"), *((cls, "fit") for cls in classes)]

    def make(original: Any) -> Any:
        if getattr(original, "__name__", "") == "train":
            return patching.wrap_function(LIGHTGBM, original, _lgb_train_after, _lgb_before)
        return patching.wrap_method(LIGHTGBM, original, _lgb_fit_after)

    patching.enable(LIGHTGBM, cfg, targets, make)


__all__ = ["autolog_lightgbm", "autolog_xgboost", "fit_arrays"]
