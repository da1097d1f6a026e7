"""ONNX: an ``onnx.ModelProto`` run with onnxruntime on the CPU.

MLflow's ``onnx`` section: ``data``, ``onnx_version``, ``providers``, ``onnx_session_options``,
``code``; ``python_function`` loads through ``mlflow.onnx``. Prediction takes a DataFrame or an
array (fed to a single-input model as one tensor) or a dict of arrays by input name, and returns the
single output as an array, or a dict of outputs by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.core.errors import MissingExtra, ModelInputError
from dockyard.models.flavors import Loaded, SavedFlavor, module_names

_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class OnnxFlavor:
    name = "onnx"
    loader_module = "mlflow.onnx"
    package = "onnx"
    version_key = "onnx_version"
    priority = 10

    def handles(self, obj: Any) -> bool:
        return any(m.startswith("onnx") and not m.startswith("onnxruntime") for m in module_names(obj)) and (
            type(obj).__name__ == "ModelProto"
        )

    def save(self, obj: Any, directory: Path, **_: Any) -> SavedFlavor:
        import onnx

        from dockyard.models.requirements import installed_version

        onnx.checker.check_model(obj)
        onnx.save_model(obj, str(directory / "model.onnx"))
        section = {
            "data": "model.onnx",
            "onnx_version": installed_version("onnx"),
            "providers": ["CPUExecutionProvider"],
            "onnx_session_options": None,
            "code": None,
        }
        pyfunc = {"loader_module": self.loader_module, "data": "model.onnx"}
        return SavedFlavor(section, pyfunc, ["onnx", "onnxruntime", "numpy"])

    def load(self, directory: Path, section: dict[str, Any]) -> Any:
        import onnx

        path = directory / str(section.get("data", "model.onnx"))
        return onnx.load(str(path))

    def predictor(self, directory: Path, pyfunc: dict[str, Any], model: Any) -> Loaded:
        try:
            import onnxruntime
        except ImportError as exc:
            raise MissingExtra("onnxruntime", "onnx") from exc
        import numpy as np

        path = directory / str(pyfunc.get("data", "model.onnx"))
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        inputs = session.get_inputs()
        outputs = [o.name for o in session.get_outputs()]

        def feed(data: Any) -> dict[str, Any]:
            if isinstance(data, dict):
                missing = [i.name for i in inputs if i.name not in data]
                if missing:
                    raise ModelInputError(f"missing ONNX input(s) {missing}")
                return {i.name: np.asarray(data[i.name], dtype=_ORT_TYPES.get(i.type)) for i in inputs}
            if hasattr(data, "to_numpy"):
                data = data.to_numpy()
            if len(inputs) != 1:
                raise ModelInputError(f"this ONNX model takes {len(inputs)} inputs: pass a dict by name")
            return {inputs[0].name: np.asarray(data, dtype=_ORT_TYPES.get(inputs[0].type))}

        def predict(data: Any, params: dict[str, Any] | None = None) -> Any:
            result = session.run(outputs, feed(data))
            return result[0] if len(result) == 1 else dict(zip(outputs, result, strict=True))

        return Loaded(session, predict)


FLAVOR = OnnxFlavor()
