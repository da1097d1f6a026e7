"""The caller's identity: who a run, an alias move or an audit entry is recorded under.

>>> isinstance(current_user(), str) and current_user() != ""
True
"""

from __future__ import annotations

import getpass


def current_user() -> str:
    """This process's login name, else ``"unknown"``."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # no login name and no passwd entry (containers with an arbitrary uid)
        return "unknown"
