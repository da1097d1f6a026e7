"""Models for the serving tests: a scikit-learn classifier, a custom model with params and failures, and
a pickle whose loading would run code."""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
COLUMNS = ["a", "b", "c"]


def scaler_class() -> Any:
    """``scoring_models.Scaler``, imported under its top-level name (as the served model imports it)."""
    module = sys.modules.get("scoring_models")
    if module is None:
        spec = importlib.util.spec_from_file_location("scoring_models", HERE / "scoring_models.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["scoring_models"] = module
        spec.loader.exec_module(module)
    return module.Scaler


def scaler_signature() -> Any:
    from dockyard.models import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema

    return ModelSignature(
        Schema([ColSpec("double", "x"), ColSpec("long", "k")]),
        Schema([ColSpec("double")]),
        ParamSchema([ParamSpec("sleep", "double", 0.0)]),
    )


def save_scaler(path: Path, factor: float = 2.0) -> Path:
    """A custom model answering ``x * factor + k`` (ValueError for negative x; ``params={"sleep": s}``)."""
    import pandas as pd

    import dockyard.pyfunc

    dockyard.pyfunc.save_model(
        path,
        python_model=scaler_class()(factor),
        signature=scaler_signature(),
        input_example=pd.DataFrame({"x": [1.0], "k": [1]}),
        code_paths=[HERE / "scoring_models.py"],
    )
    return path


def save_classifier(path: Path) -> Path:
    """A LogisticRegression on three double columns (a, b, c), with an input example."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import dockyard.sklearn

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=COLUMNS)
    y = (X.a + X.b > 0).astype(int)
    dockyard.sklearn.save_model(LogisticRegression().fit(X, y), path, input_example=X[:3])
    return path


class Payload:
    """Unpickling this creates the directory ``marker``: proof that loading ran the file's code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def save_pickle_payload(path: Path, marker: Path) -> Path:
    """The classifier saved as a pickle, its ``model.pkl`` replaced by a :class:`Payload` for ``marker``."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import dockyard.sklearn

    X = pd.DataFrame(np.eye(3), columns=COLUMNS)
    dockyard.sklearn.save_model(LogisticRegression().fit(X, [0, 1, 1]), path, serialization_format="pickle")
    with (path / "model.pkl").open("wb") as fh:
        pickle.dump(Payload(marker), fh)
    return path


@pytest.fixture(scope="session")
def scaler_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_scaler(tmp_path_factory.mktemp("models") / "scaler")


@pytest.fixture(scope="session")
def classifier_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_classifier(tmp_path_factory.mktemp("models") / "classifier")
