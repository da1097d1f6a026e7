"""``dockyard.onnx``: save, log and load ONNX models (onnx.ModelProto), run with onnxruntime
(MLflow's ``mlflow.onnx`` API).

Saved as model.onnx.
Needs ``pip install 'dockyard[onnx]'``. See ``docs/models.md``.

    import dockyard
    import dockyard.onnx

    with dockyard.start_run():
        info = dockyard.onnx.log_model(model, name="model", input_example=X[:5])
    native = dockyard.onnx.load_model(info.model_uri)
"""

from __future__ import annotations

from dockyard.lifecycle.model_logging import FlavorAPI

FLAVOR_NAME = "onnx"

_api = FlavorAPI(FLAVOR_NAME)
save_model = _api.save_model
log_model = _api.log_model
load_model = _api.load_model

__all__ = ["FLAVOR_NAME", "load_model", "log_model", "save_model"]
