"""What the handlers share: the services the composition root built, nothing read from globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.artifacts import ArtifactStore
    from dockyard.config import Settings
    from dockyard.registry.service import RegistryService
    from dockyard.tracking.service import TrackingService


@dataclass(frozen=True)
class ServerContext:
    settings: Settings
    tracking: TrackingService
    # Where proxied artifacts live (``mlflow-artifacts:/<path>`` maps to ``<destination>/<path>``);
    # None when the server runs with --no-serve-artifacts.
    artifacts: ArtifactStore | None
    # The model registry; None serves no registry routes (clients then get MLflow's 404).
    registry: RegistryService | None = None
