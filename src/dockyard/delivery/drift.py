"""Drift of a sample of inputs (or predictions) against a training profile (:mod:`dockyard.models.profile`).

Per numeric column: the population stability index (PSI) over the training deciles and the
Kolmogorov-Smirnov statistic against the training distribution (its CDF rebuilt from the profile's 101
quantiles; the p-value from SciPy's ``kstwo``). Per categorical column: PSI over the profiled categories,
the chi-squared test of the counts (SciPy's ``chisquare``), and the share of values never seen in
training. Per column: a one-sided binomial test of the null rate.

A column drifts when a test is significant *and* the shift is large: the p-value is under
``alpha / columns`` (Bonferroni, so the whole table has at most ``alpha`` (0.001) chance of a false alarm) and the
PSI is at least ``psi`` (0.2 by default, the usual "significant shift"); or more than
``new_category_share`` of the values are categories training never saw; or the null rate rose by more
than ``null_rate_increase`` with a significant binomial test. So a small sample from the training
distribution raises no alarm (its PSI is noisy, its tests are not significant), and a large one with a
real shift does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from dockyard.models.profile import category_counts, is_numeric_dtype, numeric_psi, psi, training_cdf


@dataclass(frozen=True)
class Thresholds:
    psi: float = 0.2
    alpha: float = 0.001
    new_category_share: float = 0.01
    null_rate_increase: float = 0.1


@dataclass
class ColumnDrift:
    column: str
    kind: str  # numeric or categorical
    rows: int
    psi: float | None = None
    statistic: float | None = None  # KS D or the chi-squared statistic
    p_value: float | None = None
    test: str | None = None  # "ks" or "chi2"
    null_rate: float = 0.0
    training_null_rate: float = 0.0
    new_category_share: float = 0.0
    new_categories: list[str] = field(default_factory=list)
    drifted: bool = False
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DriftReport:
    columns: list[ColumnDrift]
    missing: list[str] = field(default_factory=list)  # profiled columns the sample lacks
    predictions: ColumnDrift | None = None

    @property
    def drifted(self) -> list[ColumnDrift]:
        found = [c for c in self.columns if c.drifted]
        if self.predictions is not None and self.predictions.drifted:
            found.append(self.predictions)
        return found

    @property
    def max_psi(self) -> float:
        values = [c.psi for c in self.columns if c.psi is not None]
        return max(values) if values else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.to_dict() for c in self.columns],
            "missing": list(self.missing),
            "predictions": None if self.predictions is None else self.predictions.to_dict(),
            "max_psi": self.max_psi,
            "drifted": [c.column for c in self.drifted],
        }


def _numeric(prof: dict[str, Any], values: Any, out: ColumnDrift, bonferroni: float, th: Thresholds) -> None:
    import numpy as np
    from scipy import stats

    x = np.sort(values[np.isfinite(values)])
    n = x.size
    if n == 0 or not prof.get("quantiles"):
        return
    cdf = training_cdf(prof["quantiles"])
    out.psi = numeric_psi(prof, x)
    f = cdf(x)
    i = np.arange(1, n + 1)
    d = float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))
    out.statistic, out.test = d, "ks"
    out.p_value = float(stats.kstwo.sf(d, n))
    if out.p_value < bonferroni and out.psi is not None and out.psi >= th.psi:
        out.drifted = True
        out.reasons.append(f"distribution shifted (PSI {out.psi:.3f}, KS p-value {out.p_value:.2g})")


def _categorical(prof: dict[str, Any], values: Any, out: ColumnDrift, bonferroni: float, th: Thresholds) -> None:
    import numpy as np
    from scipy import stats

    n = len(values)
    if n == 0:
        return
    _names, observed, expected, new = category_counts(prof, values)
    out.new_category_share = sum(new.values()) / n
    out.new_categories = sorted(new, key=lambda k: -new[k])[:10]
    if out.new_category_share > th.new_category_share:
        out.drifted = True
        shown = ", ".join(repr(c) for c in out.new_categories[:5])
        out.reasons.append(f"{out.new_category_share:.1%} of values are categories training never saw ({shown})")
    known = observed.sum()
    if known == 0 or expected.sum() <= 0:
        return
    expected = expected / expected.sum()
    out.psi = psi(observed / known, expected)
    if len(expected) >= 2:
        chi = stats.chisquare(observed, np.maximum(expected, 1e-12) * known)
        out.statistic, out.p_value, out.test = float(chi.statistic), float(chi.pvalue), "chi2"
        if out.p_value < bonferroni and out.psi >= th.psi:
            out.drifted = True
            out.reasons.append(
                f"category frequencies shifted (PSI {out.psi:.3f}, chi-squared p-value {out.p_value:.2g})"
            )


def column_drift(name: str, prof: dict[str, Any], series: Any, bonferroni: float, th: Thresholds) -> ColumnDrift:
    """The drift of one column (``series``) against its profile ``prof``."""
    import numpy as np
    from scipy import stats

    n = len(series)
    nulls = int(series.isna().sum())
    out = ColumnDrift(name, str(prof.get("kind")), n, null_rate=nulls / n if n else 0.0)
    out.training_null_rate = float(prof.get("null_rate") or 0.0)
    if n and out.null_rate - out.training_null_rate > th.null_rate_increase:
        p0 = out.training_null_rate
        p_value = 0.0 if p0 <= 0 else float(stats.binomtest(nulls, n, p0, alternative="greater").pvalue)
        if p_value < bonferroni:
            out.drifted = True
            out.reasons.append(f"null rate {out.null_rate:.1%} (training {p0:.1%})")
    present = series.dropna()
    if prof.get("kind") == "numeric":
        if is_numeric_dtype(present) or present.empty:
            _numeric(prof, present.to_numpy(dtype="float64"), out, bonferroni, th)
        else:
            out.drifted = True
            out.reasons.append(f"numbers in training, {present.dtype} now")
    else:
        _categorical(prof, present.to_numpy(dtype=object) if not present.empty else np.asarray([]), out, bonferroni, th)
    return out


def data_drift(
    profile: dict[str, Any], frame: Any, predictions: Any = None, thresholds: Thresholds | None = None
) -> DriftReport:
    """Every profiled column of ``frame`` (and ``predictions``, when the profile has them) against ``profile``."""
    import pandas as pd

    th = thresholds or Thresholds()
    columns: dict[str, Any] = profile.get("columns") or {}
    present = [c for c in columns if c in frame.columns]
    tests = len(present) + (1 if predictions is not None and profile.get("predictions") else 0)
    bonferroni = th.alpha / max(tests, 1)
    report = DriftReport(
        [column_drift(c, columns[c], frame[c].reset_index(drop=True), bonferroni, th) for c in present],
        missing=[c for c in columns if c not in frame.columns],
    )
    if predictions is not None and profile.get("predictions"):
        pred = pd.Series(list(predictions)) if not isinstance(predictions, pd.Series) else predictions
        report.predictions = column_drift(
            "prediction", profile["predictions"], pred.reset_index(drop=True), bonferroni, th
        )
    return report
