"""PyTorch (CPU): a ``torch.nn.Module`` saved whole with pickle, or as a ``torch.export`` program.

MLflow's layout: the ``pytorch`` section has ``model_data: data``, ``pytorch_version`` and ``code``;
``data/model.pth`` (+ ``data/pickle_module_info.txt``) for pickle, ``data/model.pt2`` for export;
``python_function`` loads through ``mlflow.pytorch``. Dockyard pickles with cloudpickle and names
``mlflow.pytorch.pickle_module`` (MLflow's alias for cloudpickle) so that MLflow can load it too; any
pickle loader reads the file. Loading a pickled module runs code, so it needs the caller's opt-in
(``allow_pickle=True``; see :mod:`dockyard.models.safety`); an exported program loads without one.

Prediction converts a DataFrame or array to a float tensor (the signature's dtype when there is one),
runs the module in ``eval`` mode without gradients and returns a numpy array.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidModel, InvalidParameter
from dockyard.models import safety
from dockyard.models.flavors import Loaded, SavedFlavor, module_names

PICKLE_MODULE = "mlflow.pytorch.pickle_module"


class PyTorchFlavor:
    name = "pytorch"
    loader_module = "mlflow.pytorch"
    package = "torch"
    version_key = "pytorch_version"
    priority = 10

    def handles(self, obj: Any) -> bool:
        return "torch.nn.modules.module" in module_names(obj)

    def save(
        self, obj: Any, directory: Path, *, serialization_format: str = "pickle", input_example: Any = None, **_: Any
    ) -> SavedFlavor:
        import torch

        from dockyard.models.requirements import installed_version

        data = directory / "data"
        data.mkdir()
        if serialization_format == "pickle":
            import cloudpickle

            torch.save(obj, data / "model.pth", pickle_module=cloudpickle)
            (data / "pickle_module_info.txt").write_text(PICKLE_MODULE)
            needs = ["torch", "cloudpickle", "numpy"]
        elif serialization_format == "pt2":
            if input_example is None:
                raise InvalidParameter("serialization_format 'pt2' needs an input_example to trace the model")
            example = torch.as_tensor(_array(input_example))
            batch = torch.export.Dim("batch")
            program = torch.export.export(obj, (example,), dynamic_shapes=({0: batch},))
            torch.export.save(program, data / "model.pt2")
            needs = ["torch", "numpy"]
        else:
            raise InvalidParameter(f"serialization_format {serialization_format!r} is not one of pickle, pt2")
        section = {"model_data": "data", "pytorch_version": installed_version("torch"), "code": None}
        pyfunc = {
            "loader_module": self.loader_module,
            "data": "data",
            "pickle_module_name": PICKLE_MODULE,
            "config": {"device": None},
        }
        return SavedFlavor(section, pyfunc, needs)

    def load(self, directory: Path, section: dict[str, Any]) -> Any:
        import torch

        data = directory / str(section.get("model_data", "data"))
        exported = data / "model.pt2"
        if exported.is_file():
            # The exported graph is already in inference form (it has no train/eval switch).
            return torch.export.load(str(exported)).module()
        pickled = data / "model.pth"
        if not pickled.is_file():
            raise InvalidModel(f"model directory {directory} is missing file {data.name}/model.pth (or model.pt2)")
        # A whole-module pickle needs full unpickling (weights_only would refuse it): code runs, so only
        # with the caller's opt-in, checked before torch opens the file.
        safety.require_code_execution(
            f"{data.name}/{pickled.name}",
            "a pickle (a whole PyTorch module saved with torch.save; serialization_format='pt2' is safe)",
        )
        return torch.load(pickled, weights_only=False)

    def predictor(self, directory: Path, pyfunc: dict[str, Any], model: Any) -> Loaded:
        import numpy as np

        native = self.load(directory, model.flavors.get(self.name) or {"model_data": pyfunc.get("data", "data")})
        dtype = None
        sig = model.signature
        if sig is not None and sig.inputs is not None and sig.inputs.is_tensor:
            dtype = np.dtype(sig.inputs.specs[0].dtype)

        def predict(data: Any, params: dict[str, Any] | None = None) -> Any:
            return run_module(native, data, dtype)

        return Loaded(native, predict)

    def predict_object(self, obj: Any, data: Any, pyfunc: dict[str, Any]) -> Any:
        return run_module(obj, data, None)


def run_module(module: Any, data: Any, dtype: Any) -> Any:
    """``module(data)`` in eval mode without gradients, numpy in and out."""
    import numpy as np
    import torch

    array = _array(data)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    elif array.dtype == np.float64:
        array = array.astype(np.float32)
    array = np.require(array, requirements=["C", "W"])  # torch wants a writable buffer
    if getattr(module, "training", False):
        # A pickled module may have been saved in training mode. An exported program's module is
        # already an inference graph: its eval() raises NotImplementedError.
        with contextlib.suppress(NotImplementedError):
            module.eval()
    with torch.no_grad():
        out = module(torch.from_numpy(array))
    return out.numpy() if hasattr(out, "numpy") else out


def _array(data: Any) -> Any:
    import numpy as np

    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    return np.asarray(data)


FLAVOR = PyTorchFlavor()
