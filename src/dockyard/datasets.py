"""``dockyard.datasets``: the public name of :mod:`dockyard.demo.datasets` (LendingClub-style loans).

>>> import dockyard.datasets
>>> "loan_status" in dockyard.datasets.COLUMNS
True
"""

from dockyard.demo.datasets import *  # noqa: F403
from dockyard.demo.datasets import __all__ as __all__
