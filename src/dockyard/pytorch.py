"""``dockyard.pytorch``: save, log and load PyTorch modules (CPU)
(MLflow's ``mlflow.pytorch`` API).

Saved as a cloudpickled module (default) or a torch.export program (serialization_format="pt2").
Needs ``pip install torch``. See ``docs/models.md``.

    import dockyard
    import dockyard.pytorch

    with dockyard.start_run():
        info = dockyard.pytorch.log_model(model, name="model", input_example=X[:5])
    native = dockyard.pytorch.load_model(info.model_uri)
"""

from __future__ import annotations

from dockyard.lifecycle.model_logging import FlavorAPI

FLAVOR_NAME = "pytorch"

_api = FlavorAPI(FLAVOR_NAME)
save_model = _api.save_model
log_model = _api.log_model
load_model = _api.load_model

__all__ = ["FLAVOR_NAME", "load_model", "log_model", "save_model"]
