"""Packaging: self-contained serving bundles, container files, ONNX export, Kubernetes manifests.

``dockyard package MODEL_URI --output DIR`` (the CLI) calls :func:`package_model`, which writes a folder
that serves the model anywhere Python runs: the model's files (checked against the registered digest),
``requirements.txt`` with exact pins, Dockyard's serving modules (no Dockyard package from an index) and
a ``serve`` script; optionally a ``Dockerfile``, Kubernetes manifests, a zipapp, and the model converted
to ONNX. See ``docs/packaging.md``. This package sits beside ``serving`` and never imports it: it copies
the serving modules' source into bundles as data.

    from dockyard.lifecycle.client import Client
    from dockyard.packaging import PackageOptions, package_model

    bundle = package_model("models:/churn@champion", PackageOptions(Path("churn-bundle")), client=Client())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Bundle", "PackageOptions", "package_model"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dockyard.packaging import bundle

        return getattr(bundle, name)
    raise AttributeError(f"module 'dockyard.packaging' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from dockyard.packaging.bundle import Bundle as Bundle
    from dockyard.packaging.bundle import PackageOptions as PackageOptions
    from dockyard.packaging.bundle import package_model as package_model
