"""Drift against a training profile: found on a mean shift, a new category and a burst of nulls; not
raised on small fresh samples from the training distribution at the default thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dockyard.delivery.drift import Thresholds, data_drift
from dockyard.models.profile import build_profile


def sample(n: int, rng: np.random.Generator, *, shift: float = 0.0, nulls: float = 0.0) -> pd.DataFrame:
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < nulls] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "spend": rng.exponential(2.0, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
            "seats": rng.integers(1, 6, n),
        }
    )


@pytest.fixture(scope="module")
def profile() -> dict:
    return build_profile(sample(5000, np.random.default_rng(0)))


def test_twenty_fresh_samples_raise_no_alarm(profile: dict) -> None:
    rng = np.random.default_rng(1)
    assert data_drift(profile, sample(20, rng)).drifted == []
    # The design bound is alpha (0.1%) per check over all columns: 200 checks give 0.2 alarms on average.
    alarms = [data_drift(profile, sample(20, rng)).drifted for _ in range(200)]
    assert len([a for a in alarms if a]) <= 1


def test_a_large_sample_from_training_raises_no_alarm(profile: dict) -> None:
    report = data_drift(profile, sample(5000, np.random.default_rng(2)))
    assert report.drifted == [] and report.max_psi < 0.05


def test_a_mean_shift_is_found(profile: dict) -> None:
    report = data_drift(profile, sample(500, np.random.default_rng(3), shift=0.8))
    assert [c.column for c in report.drifted] == ["x"]
    (shifted,) = report.drifted
    assert shifted.test == "ks" and shifted.p_value < 1e-6 and shifted.psi > 0.2
    assert "distribution shifted" in shifted.reasons[0]


def test_a_new_category_is_found(profile: dict) -> None:
    frame = sample(500, np.random.default_rng(4))
    frame.loc[:40, "plan"] = "enterprise"
    (found,) = data_drift(profile, frame).drifted
    assert found.column == "plan" and found.new_categories == ["enterprise"]
    assert found.new_category_share == pytest.approx(41 / 500)


def test_a_null_burst_is_found(profile: dict) -> None:
    (found,) = data_drift(profile, sample(400, np.random.default_rng(5), nulls=0.3)).drifted
    assert found.column == "x" and found.reasons[0].startswith("null rate 3")


def test_thresholds_and_missing_columns(profile: dict) -> None:
    frame = sample(500, np.random.default_rng(6), shift=0.3).drop(columns=["seats"])
    assert data_drift(profile, frame).missing == ["seats"]
    strict = data_drift(profile, frame, thresholds=Thresholds(psi=0.01, alpha=0.05))
    loose = data_drift(profile, frame, thresholds=Thresholds(psi=5.0))
    assert "x" in [c.column for c in strict.drifted] and loose.drifted == []


def test_prediction_drift(profile: dict) -> None:
    rng = np.random.default_rng(7)
    train = sample(3000, rng)
    with_predictions = build_profile(train, predictions=(train["x"] > 0).astype(int))
    same = sample(300, rng)
    assert data_drift(with_predictions, same, (same["x"] > 0).astype(int)).drifted == []
    report = data_drift(with_predictions, same, pd.Series([1] * 300))
    assert report.predictions is not None and report.predictions.drifted
