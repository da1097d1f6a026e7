"""Small helpers shared across layers (stdlib only)."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Milliseconds since the epoch, MLflow's timestamp unit."""
    return time.time_ns() // 1_000_000
