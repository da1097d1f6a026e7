"""scikit-learn: estimators and pipelines, saved with skops (the default, as in MLflow 3) or pickle.

``MLmodel`` gets MLflow's ``sklearn`` section (``pickled_model``, ``serialization_format``,
``sklearn_version``, ``skops_trusted_types``, ``code``) and a ``python_function`` section with
``loader_module: mlflow.sklearn``, so MLflow loads the model and Dockyard loads MLflow's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.models.flavors import Loaded, SavedFlavor, module_names
from dockyard.models.flavors import serialization as ser


class SklearnFlavor:
    name = "sklearn"
    loader_module = "mlflow.sklearn"
    package = "scikit-learn"
    version_key = "sklearn_version"
    priority = 0  # libraries with a scikit-learn API (xgboost, lightgbm) claim their models first

    def handles(self, obj: Any) -> bool:
        return any(m.startswith("sklearn.") for m in module_names(obj))

    def save(
        self, obj: Any, directory: Path, *, serialization_format: str = "skops", predict_fn: str = "predict", **_: Any
    ) -> SavedFlavor:
        if not callable(getattr(obj, predict_fn, None)):
            raise InvalidParameter(f"predict_fn {predict_fn!r}: the model has no such method")
        filename, trusted = ser.dump(obj, directory / "model", ser.check_format(serialization_format))
        from dockyard.models.requirements import installed_version

        section = {
            "pickled_model": filename,
            "serialization_format": serialization_format,
            "sklearn_version": installed_version("scikit-learn"),
            "skops_trusted_types": trusted,
            "code": None,
        }
        pyfunc = {"loader_module": self.loader_module, "model_path": filename, "predict_fn": predict_fn}
        return SavedFlavor(section, pyfunc, ["scikit-learn", "numpy", "scipy", *ser.requirements(serialization_format)])

    def load(self, directory: Path, section: dict[str, Any]) -> Any:
        # skops_trusted_types in the section is MLflow's to read: Dockyard trusts no list the model brings.
        return ser.load(directory / str(section.get("pickled_model", "model.pkl")), section.get("serialization_format"))

    def predictor(self, directory: Path, pyfunc: dict[str, Any], model: Any) -> Loaded:
        section = model.flavors.get(self.name) or {
            "pickled_model": pyfunc.get("model_path", "model.pkl"),
            "serialization_format": None,
        }
        native = self.load(directory, section)
        method = getattr(native, str(pyfunc.get("predict_fn") or "predict"))

        def predict(data: Any, params: dict[str, Any] | None = None) -> Any:
            return method(data)

        return Loaded(native, predict)

    def predict_object(self, obj: Any, data: Any, pyfunc: dict[str, Any]) -> Any:
        return getattr(obj, str(pyfunc.get("predict_fn") or "predict"))(data)


FLAVOR = SklearnFlavor()
