from __future__ import annotations

import time

import pytest

from dockyard.core import clock
from dockyard.core.clock import now_ms


def test_now_ms_is_int_between_clock_reads() -> None:
    before = time.time_ns() // 1_000_000
    value = now_ms()
    after = time.time_ns() // 1_000_000
    assert type(value) is int
    assert before <= value <= after


def test_now_ms_is_a_plausible_epoch_millisecond() -> None:
    # after 2023-11-14 and before 2100: milliseconds, not seconds or nanoseconds
    assert 1_700_000_000_000 < now_ms() < 4_102_444_800_000


@pytest.mark.parametrize(
    ("ns", "ms"),
    [
        (0, 0),
        (999_999, 0),
        (1_000_000, 1),
        (1_700_000_000_123_456_789, 1_700_000_000_123),
        (1_700_000_000_999_999_999, 1_700_000_000_999),
    ],
)
def test_now_ms_floors_nanoseconds(monkeypatch: pytest.MonkeyPatch, ns: int, ms: int) -> None:
    monkeypatch.setattr(clock.time, "time_ns", lambda: ns)
    assert now_ms() == ms
