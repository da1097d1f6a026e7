"""LightGBM: a ``Booster`` (LightGBM's text format) or a scikit-learn-API model (skops, as MLflow 3).

MLflow's ``lightgbm`` section: ``data``, ``model_class``, ``lgb_version``, ``serialization_format``,
``skops_trusted_types``, ``code``; ``python_function`` loads through ``mlflow.lightgbm``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.models.flavors import Loaded, SavedFlavor, module_names, qualified_class
from dockyard.models.flavors import serialization as ser


class LightGBMFlavor:
    name = "lightgbm"
    loader_module = "mlflow.lightgbm"
    package = "lightgbm"
    version_key = "lgb_version"
    priority = 10

    def handles(self, obj: Any) -> bool:
        return any(m.startswith("lightgbm.") for m in module_names(obj))

    def save(self, obj: Any, directory: Path, *, serialization_format: str = "skops", **_: Any) -> SavedFlavor:
        import lightgbm

        from dockyard.models.requirements import installed_version

        trusted = None
        needs = ["lightgbm", "numpy", "scipy"]
        if isinstance(obj, lightgbm.Booster):
            filename = "model.lgb"
            obj.save_model(str(directory / filename))
        else:
            filename, trusted = ser.dump(obj, directory / "model", ser.check_format(serialization_format))
            needs += ["scikit-learn", *ser.requirements(serialization_format)]
        section = {
            "data": filename,
            "model_class": qualified_class(obj),
            "lgb_version": installed_version("lightgbm"),
            "serialization_format": serialization_format,
            "skops_trusted_types": trusted,
            "code": None,
        }
        return SavedFlavor(section, {"loader_module": self.loader_module, "data": filename}, needs)

    def load(self, directory: Path, section: dict[str, Any]) -> Any:
        path = directory / str(section.get("data", "model.lgb"))
        if str(section.get("model_class", "lightgbm.basic.Booster")).endswith(".Booster"):
            import lightgbm

            return lightgbm.Booster(model_file=str(path))
        return ser.load(path, section.get("serialization_format"))  # never the section's skops_trusted_types

    def predictor(self, directory: Path, pyfunc: dict[str, Any], model: Any) -> Loaded:
        native = self.load(directory, model.flavors.get(self.name) or {"data": pyfunc.get("data")})

        def predict(data: Any, params: dict[str, Any] | None = None) -> Any:
            return native.predict(data)

        return Loaded(native, predict)

    def predict_object(self, obj: Any, data: Any, pyfunc: dict[str, Any]) -> Any:
        return obj.predict(data)


FLAVOR = LightGBMFlavor()
