"""A store per test, and autologging switched off again after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import dockyard


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DOCKYARD_CAPTURE_CONTEXT", "false")
    path = tmp_path / "autolog.db"
    dockyard.set_tracking_uri(str(path))
    yield path
    dockyard.autolog(disable=True)


@pytest.fixture
def only_run(store: Path) -> Callable[[], dockyard.Run]:
    """The one run in the store (asserting there is exactly one)."""

    def get() -> dockyard.Run:
        runs = dockyard.Client(str(store)).search_runs(["0"]).items
        assert len(runs) == 1, [r.info.run_id for r in runs]
        return runs[0]

    return get
