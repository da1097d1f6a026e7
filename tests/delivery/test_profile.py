"""The training profile: written by log_model(training_data=...) and by autologging, refused when empty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import dockyard
import dockyard.sklearn
from dockyard.core.errors import InvalidParameter
from dockyard.models.profile import PROFILE_FILE, build_profile


def _files(info: Any) -> Path:
    return Path(dockyard.Client(dockyard.get_tracking_uri()).get_logged_model(info.model_id).artifact_location)


def test_log_model_stores_the_profile_of_an_array(store: str) -> None:
    x = np.random.default_rng(0).normal(size=(200, 2))
    model = LinearRegression().fit(x, x[:, 0] * 2)
    with dockyard.start_run():
        info = dockyard.sklearn.log_model(model, name="model", training_data=x)
    profile = json.loads((_files(info) / PROFILE_FILE).read_text())
    assert profile["rows"] == 200 and sorted(profile["columns"]) == ["0", "1"]
    assert profile["predictions"]["kind"] == "numeric"
    with dockyard.start_run(), pytest.raises(InvalidParameter, match="training_data: the table is empty"):
        dockyard.sklearn.log_model(model, name="empty", training_data=np.empty((0, 2)))


def test_autologging_stores_the_profile(store: str) -> None:
    dockyard.autolog()
    try:
        frame = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) % 3})
        with dockyard.start_run() as run:
            LinearRegression().fit(frame, frame["a"] * 3)
        (output,) = dockyard.Client(store).get_run(run.info.run_id).outputs
        location = Path(dockyard.Client(store).get_logged_model(output.model_id).artifact_location)
        profile = json.loads((location / PROFILE_FILE).read_text())
        assert profile["columns"]["b"]["kind"] == "categorical" and profile["columns"]["a"]["kind"] == "numeric"
    finally:
        dockyard.autolog(disable=True)


def test_non_finite_values_and_categories() -> None:
    frame = pd.DataFrame({"x": [1.0, np.inf, np.nan, *range(20)], "flag": [True, False, True, *[False] * 20]})
    profile = build_profile(frame)
    assert profile["columns"]["flag"]["categories"] == {"False": 21 / 23, "True": 2 / 23}
    assert profile["columns"]["x"]["max"] == 19.0 and profile["columns"]["x"]["null_rate"] == pytest.approx(1 / 23)
    json.dumps(profile, allow_nan=False)  # JSON without NaN or infinity
