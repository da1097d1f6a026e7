"""XGBoost: a ``Booster`` or a scikit-learn-API model, saved in XGBoost's own UBJSON format.

MLflow's ``xgboost`` section: ``data``, ``model_class``, ``model_format``, ``xgb_version``, ``code``;
``python_function`` loads through ``mlflow.xgboost``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.models import safety
from dockyard.models.flavors import Loaded, SavedFlavor, import_class, module_names, qualified_class

FORMATS = ("ubj", "json", "deprecated")


class XGBoostFlavor:
    name = "xgboost"
    loader_module = "mlflow.xgboost"
    package = "xgboost"
    version_key = "xgb_version"
    priority = 10

    def handles(self, obj: Any) -> bool:
        return any(m.startswith("xgboost.") for m in module_names(obj))

    def save(self, obj: Any, directory: Path, *, model_format: str = "ubj", **_: Any) -> SavedFlavor:
        if model_format not in FORMATS:
            raise InvalidParameter(f"model_format {model_format!r} is not one of {', '.join(FORMATS)}")
        filename = f"model.{model_format}"
        obj.save_model(str(directory / filename))
        from dockyard.models.requirements import installed_version

        section = {
            "data": filename,
            "model_class": qualified_class(obj),
            "model_format": model_format,
            "xgb_version": installed_version("xgboost"),
            "code": None,
        }
        return SavedFlavor(
            section, {"loader_module": self.loader_module, "data": filename}, ["xgboost", "numpy", "scipy"]
        )

    def load(self, directory: Path, section: dict[str, Any]) -> Any:
        path = directory / str(section.get("data", "model.xgb"))
        class_path = str(section.get("model_class", "xgboost.core.Booster"))
        if not class_path.startswith("xgboost."):
            # MLmodel names the class to import: a module outside xgboost runs its code when imported.
            safety.require_code_execution(f"MLmodel's model_class {class_path!r}", "a class outside xgboost")
        cls = import_class(class_path)
        model = cls()
        model.load_model(str(path))
        return model

    def predictor(self, directory: Path, pyfunc: dict[str, Any], model: Any) -> Loaded:
        section = model.flavors.get(self.name) or {"data": pyfunc.get("data")}
        native = self.load(directory, section)

        def predict(data: Any, params: dict[str, Any] | None = None) -> Any:
            return self.predict_object(native, data, pyfunc)

        return Loaded(native, predict)

    def predict_object(self, obj: Any, data: Any, pyfunc: dict[str, Any]) -> Any:
        import xgboost

        if isinstance(obj, xgboost.Booster):
            return obj.predict(xgboost.DMatrix(data))
        return obj.predict(data)


FLAVOR = XGBoostFlavor()
