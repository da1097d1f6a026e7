"""Model code for the serving tests, shipped inside each model through ``code_paths``."""

from __future__ import annotations

import time
from typing import Any

from dockyard.models.flavors.pyfunc import PythonModel


class Scaler(PythonModel):
    """``x * factor + k``; raises for a negative ``x`` (an error inside the model) and sleeps on request."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        params = params or {}
        if params.get("sleep"):
            time.sleep(float(params["sleep"]))
        if (model_input["x"] < 0).any():
            raise ValueError("x must not be negative")
        return (model_input["x"] * self.factor + model_input["k"]).to_numpy()
