"""``dockyard.autolog()``: log scikit-learn, XGBoost and LightGBM training without logging calls.

    import dockyard

    dockyard.autolog()
    model = RandomForestClassifier().fit(X, y)   # a run with params, training_* metrics, the model
                                                 # (signature, input example) and the training data

Each library's ``fit`` (and ``xgboost.train`` / ``lightgbm.train``) is patched: the call logs into the
active run, or into a run it starts and ends. Fits made inside an autologged fit (a Pipeline's steps,
GridSearchCV's candidates) are not logged again. ``disable=True`` puts the original functions back.
Per library: ``dockyard.sklearn.autolog()``, ``dockyard.xgboost.autolog()``, ``dockyard.lightgbm.autolog()``.
See ``docs/autolog.md``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from dockyard.integrations.autologging.patching import AutologConfig, AutologWarning

__all__ = ["LIBRARIES", "AutologConfig", "AutologWarning", "autolog", "for_library"]

# Library (import name) -> the module and function that autolog it.
LIBRARIES: dict[str, tuple[str, str]] = {
    "sklearn": ("dockyard.integrations.autologging.sklearn", "autolog"),
    "xgboost": ("dockyard.integrations.autologging.boosting", "autolog_xgboost"),
    "lightgbm": ("dockyard.integrations.autologging.boosting", "autolog_lightgbm"),
}


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def autolog(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
) -> list[str]:
    """Autolog every supported library that is installed (MLflow's ``mlflow.autolog`` arguments).

    ``log_models``: log the fitted model (``dockyard.<library>.log_model``, with a signature);
    ``log_input_examples``: save the first rows of the training data with it; ``log_datasets``: log
    the training data as a run input with its digest; ``disable``: undo every patch; ``silent``: no
    :class:`AutologWarning` about what could not be logged. Returns the libraries it (un)patched.
    """
    done = [library for library in LIBRARIES if _installed(library)]
    for library in done:
        for_library(library)(log_models, log_input_examples, log_datasets, disable, silent)
    return done


def for_library(library: str) -> Callable[..., None]:
    """``dockyard.<library>.autolog``: :func:`autolog`'s arguments, for one library (imported on call)."""
    module, function = LIBRARIES[library]

    def library_autolog(
        log_models: bool = True,
        log_input_examples: bool = True,
        log_datasets: bool = True,
        disable: bool = False,
        silent: bool = False,
    ) -> None:
        enable = getattr(importlib.import_module(module), function)
        enable(
            log_models=log_models,
            log_input_examples=log_input_examples,
            log_datasets=log_datasets,
            disable=disable,
            silent=silent,
        )

    library_autolog.__name__ = library_autolog.__qualname__ = "autolog"
    library_autolog.__doc__ = f"Autolog {library} training, or undo it (see ``dockyard.autolog``, ``docs/autolog.md``)."
    return library_autolog
