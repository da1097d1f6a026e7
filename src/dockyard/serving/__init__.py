"""Serving one model over HTTP: MLflow's ``/invocations`` payloads, the Open Inference Protocol, batching,
Prometheus metrics and alias following.

Deployable with ``pip install 'dockyard[serve]'`` alone: this package never imports the tracking server,
the database layer or SQLAlchemy. ``dockyard serve MODEL_URI`` (the CLI) loads the model, builds the app
with :func:`create_scoring_app` and runs it with uvicorn in process::

    import dockyard.models
    from dockyard.serving import ServingOptions, create_scoring_app

    app = create_scoring_app(dockyard.models.load_model("model/"), ServingOptions(max_batch_size=64))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ServedModel", "ServingOptions", "create_scoring_app"]


def __getattr__(name: str) -> Any:
    if name in ("ServingOptions", "create_scoring_app"):
        from dockyard.serving import app

        return getattr(app, name)
    if name == "ServedModel":
        from dockyard.serving.model import ServedModel

        return ServedModel
    raise AttributeError(f"module 'dockyard.serving' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from dockyard.serving.app import ServingOptions as ServingOptions
    from dockyard.serving.app import create_scoring_app as create_scoring_app
    from dockyard.serving.model import ServedModel as ServedModel
