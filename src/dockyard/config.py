"""``dockyard.config``: the public name of :mod:`dockyard.core.config` (every setting, read in one place).

>>> from dockyard.config import Settings
>>> Settings.from_env({}).tracking_uri.startswith("sqlite:///")
True
"""

from dockyard.core.config import DEFAULT_DIR as DEFAULT_DIR
from dockyard.core.config import Settings as Settings
from dockyard.core.config import normalize_tracking_uri as normalize_tracking_uri
