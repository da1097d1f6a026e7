"""Models to package: a scikit-learn classifier logged by Dockyard and registered (``models:/churn/1``).

The helpers are handed out as fixtures (``kit``): a module of tests/packaging cannot be imported by name,
since ``packaging`` is also the name of a library the tools import."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

import dockyard
from dockyard.tracking.backends import close_all

COLUMNS = [f"f{i}" for i in range(6)]


def training_data(rows: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.random((rows, len(COLUMNS))), columns=COLUMNS)
    labels = ((frame.f0 + frame.f1 + 0.3 * rng.random(rows)) > 1.1).astype(int)
    return frame, labels


@functools.cache
def classifier() -> object:
    """Fitted once per session (a fit costs seconds while other tests compete for the cores)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame, labels = training_data()
    return HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(frame, labels)


def register(store: Path, name: str = "churn", model: object | None = None) -> Path:
    """Log ``model`` (default: the classifier) with an input example and register it as ``name``; the
    folder of its files."""
    dockyard.set_tracking_uri(str(store))
    client = dockyard.Client(str(store))
    frame, _ = training_data()
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(
            model if model is not None else classifier(),
            name="model",
            registered_model_name=name,
            input_example=frame.head(5),
        )
    client.set_registered_model_alias(name, "champion", 1)
    location = Path(client.get_logged_model(info.model_id or "").artifact_location)
    client.close()
    return location


class Kit:
    """What the tests share: the columns, the training data and ``register``."""

    columns = COLUMNS
    training_data = staticmethod(training_data)
    classifier = staticmethod(classifier)
    register = staticmethod(register)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DOCKYARD_CAPTURE_CONTEXT", "false")  # runs here need no git or package snapshot
    yield tmp_path / "store.db"
    close_all()


@pytest.fixture
def registered(store: Path) -> Path:
    """``models:/churn/1`` (alias champion) in ``store``; the folder of its files."""
    return register(store)


@pytest.fixture
def cli(store: Path) -> Callable[..., Result]:
    """``cli("package", URI, "--output", DIR)`` against the test's store."""
    from dockyard.cli import main

    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, [*args, "--tracking-uri", str(store)])

    return invoke
