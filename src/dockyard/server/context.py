"""What the handlers share: the services the composition root built, nothing read from globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.artifacts import ArtifactStore
    from dockyard.core.config import Settings
    from dockyard.registry.protocol import RegistryAPI
    from dockyard.server.auth.service import AuthService
    from dockyard.tracking.protocol import TrackingAPI


@dataclass(frozen=True)
class ServerContext:
    settings: Settings
    tracking: TrackingAPI
    # Where proxied artifacts live (``mlflow-artifacts:/<path>`` maps to ``<destination>/<path>``);
    # None when the server runs with --no-serve-artifacts.
    artifacts: ArtifactStore | None
    # The model registry; None serves no registry routes (clients then get MLflow's 404).
    registry: RegistryAPI | None = None
    # Sign-in and permissions (dockyard server --auth); None: every caller may do everything.
    auth: AuthService | None = None
