"""``dockyard.sklearn``: save, log and load scikit-learn estimators and pipelines
(MLflow's ``mlflow.sklearn`` API).

Saved as skops (default), cloudpickle or pickle via serialization_format=.
Needs ``pip install 'dockyard[sklearn]'``. See ``docs/models.md``.

    import dockyard
    import dockyard.sklearn

    with dockyard.start_run():
        info = dockyard.sklearn.log_model(model, name="model", input_example=X[:5])
    native = dockyard.sklearn.load_model(info.model_uri)
"""

from __future__ import annotations

from dockyard.integrations.autologging import for_library
from dockyard.lifecycle.model_logging import FlavorAPI

FLAVOR_NAME = "sklearn"

_api = FlavorAPI(FLAVOR_NAME)
save_model = _api.save_model
log_model = _api.log_model
load_model = _api.load_model


autolog = for_library(FLAVOR_NAME)


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]
