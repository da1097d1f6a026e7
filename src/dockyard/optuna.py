"""``dockyard.optuna``: the public name of :mod:`dockyard.integrations.optuna` (Optuna searches, every
trial a tracked run)."""

from dockyard.integrations.optuna import *  # noqa: F403
from dockyard.integrations.optuna import __all__ as __all__
