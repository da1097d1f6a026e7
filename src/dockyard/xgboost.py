"""``dockyard.xgboost``: save, log and load XGBoost boosters and scikit-learn-API models
(MLflow's ``mlflow.xgboost`` API).

Saved as XGBoost's UBJSON format (model_format=).
Needs ``pip install 'dockyard[xgboost]'``. See ``docs/models.md``.

    import dockyard
    import dockyard.xgboost

    with dockyard.start_run():
        info = dockyard.xgboost.log_model(model, name="model", input_example=X[:5])
    native = dockyard.xgboost.load_model(info.model_uri)
"""

from __future__ import annotations

from dockyard.integrations.autologging import for_library
from dockyard.lifecycle.model_logging import FlavorAPI

FLAVOR_NAME = "xgboost"

_api = FlavorAPI(FLAVOR_NAME)
save_model = _api.save_model
log_model = _api.log_model
load_model = _api.load_model


autolog = for_library(FLAVOR_NAME)


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]
