"""``dockyard.errors``: the public name of :mod:`dockyard.core.errors` (every exception Dockyard raises).

>>> from dockyard.errors import RunNotFound
>>> RunNotFound.http_status
404
"""

from dockyard.core.errors import *  # noqa: F403
from dockyard.core.errors import __all__ as __all__
