"""The clock: timestamps in MLflow's unit.

>>> now_ms() > 1_700_000_000_000
True
"""

from __future__ import annotations

import time


def now_ms() -> int:
    """Milliseconds since the epoch, MLflow's timestamp unit."""
    return time.time_ns() // 1_000_000
