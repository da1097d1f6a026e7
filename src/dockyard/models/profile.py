"""The training profile: a compact summary of a model's training inputs, stored beside its files.

``log_model(..., training_data=frame)`` writes ``training_profile.json`` into the model directory (so it is
part of the files the registry digests). Per column: its type, null rate and, for numbers, 101 quantiles
(the 0th to the 100th percentile), mean and spread; for categories (strings, booleans, and numbers with
at most :data:`MAX_DISCRETE` distinct values) the frequency of each of the :data:`MAX_CATEGORIES` most
common values and the share of the rest. ``dockyard validate`` checks data against it and
``dockyard monitor`` measures drift against it (:mod:`dockyard.delivery.drift`). pandas and numpy are
imported when a profile is built.

>>> import pandas as pd
>>> p = build_profile(pd.DataFrame({"x": [*range(19), None], "c": ["a"] * 15 + ["b"] * 5}))
>>> p["rows"], p["columns"]["x"]["kind"], p["columns"]["x"]["null_rate"], p["columns"]["c"]["categories"]
(20, 'numeric', 0.05, {'a': 0.75, 'b': 0.25})
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dockyard.core.errors import InvalidParameter

PROFILE_FILE = "training_profile.json"
FORMAT = "dockyard.profile/1"
MAX_CATEGORIES = 50  # the most frequent values kept per categorical column; the rest share "other"
MAX_DISCRETE = 12  # a numeric column with this few distinct values is profiled as categories
MAX_COLUMNS = 2000
QUANTILES = 101


def category_key(value: Any) -> str:
    """The text a category is counted under: integral floats as integers (``1.0`` -> ``"1"``), so CSV and
    JSON readers agree with the training frame."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _frame(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, pd.Series):
        frame = data.to_frame(name=data.name if data.name is not None else "prediction")
    else:
        try:
            import numpy as np

            array = np.asarray(data)
        except Exception as exc:
            raise InvalidParameter(f"training_data: cannot read a {type(data).__name__} as a table ({exc})") from None
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2:
            raise InvalidParameter(f"training_data: expected a table (2 dimensions), got {array.ndim}")
        frame = pd.DataFrame(array, columns=[str(i) for i in range(array.shape[1])])
    if frame.shape[1] > MAX_COLUMNS:
        raise InvalidParameter(f"training_data: {frame.shape[1]} columns, more than {MAX_COLUMNS} can be profiled")
    return frame


def is_numeric_dtype(series: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def column_profile(series: Any) -> dict[str, Any]:
    """The profile of one column (see the module docstring)."""
    import numpy as np

    total = len(series)
    nulls = int(series.isna().sum())
    present = series.dropna()
    out: dict[str, Any] = {"dtype": str(series.dtype), "count": total, "null_rate": nulls / total if total else 0.0}
    if is_numeric_dtype(series) and present.nunique() > MAX_DISCRETE:
        values = present.to_numpy(dtype="float64")
        values = values[np.isfinite(values)]
        if values.size:
            out.update(
                kind="numeric",
                mean=float(values.mean()),
                std=float(values.std()),
                min=float(values.min()),
                max=float(values.max()),
                quantiles=[float(q) for q in np.quantile(values, np.linspace(0, 1, QUANTILES))],
            )
            return out
    counts = present.map(category_key).value_counts()
    kept = counts.iloc[:MAX_CATEGORIES]
    present_total = int(counts.sum())
    out.update(
        kind="categorical",
        distinct=int(counts.size),
        categories={str(k): int(v) / present_total for k, v in kept.items()} if present_total else {},
        other=(present_total - int(kept.sum())) / present_total if present_total else 0.0,
    )
    if is_numeric_dtype(series) and present.size:
        out.update(min=float(present.min()), max=float(present.max()))
    return out


def build_profile(data: Any, predictions: Any = None) -> dict[str, Any]:
    """The profile of ``data`` (a DataFrame, a Series, or anything numpy reads as a table); with
    ``predictions``, the profile of the model's predictions on it too (for prediction drift)."""
    frame = _frame(data)
    if len(frame) == 0:
        raise InvalidParameter("training_data: the table is empty; a profile needs at least one row")
    profile: dict[str, Any] = {
        "format": FORMAT,
        "rows": len(frame),
        "columns": {str(name): column_profile(frame[name]) for name in frame.columns},
    }
    if predictions is not None:
        profile = with_predictions(profile, predictions)
    cleaned: dict[str, Any] = _finite(profile)
    return cleaned


def with_predictions(profile: dict[str, Any], predictions: Any) -> dict[str, Any]:
    """``profile`` with the profile of the model's predictions on its data (several columns per row, such
    as class probabilities: of the index of the largest)."""
    import pandas as pd

    pred = _frame(predictions)
    series = pred.iloc[:, 0] if pred.shape[1] == 1 else pd.Series(pred.to_numpy().argmax(axis=1))
    out: dict[str, Any] = _finite({**profile, "predictions": column_profile(series.reset_index(drop=True))})
    return out


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_profile(directory: Path, profile: dict[str, Any]) -> Path:
    path = directory / PROFILE_FILE
    path.write_text(json.dumps(profile, indent=1, sort_keys=True), encoding="utf-8")
    return path


def read_profile(directory: Path) -> dict[str, Any] | None:
    """The profile stored in a model directory (None: the model was logged without training data)."""
    path = directory / PROFILE_FILE
    if not path.is_file():
        return None
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidParameter(f"{path}: not a valid training profile ({exc})") from None
    if not isinstance(profile, dict) or profile.get("format") != FORMAT:
        raise InvalidParameter(f"{path}: not a Dockyard training profile (format {FORMAT!r} expected)")
    return profile


# ---------------------------------------------------------------------- comparing with a profile (numpy only)

PSI_FLOOR = 1e-4  # a bin's smallest share in the PSI, so an empty bin counts as rare, not infinitely different


def psi(actual: Any, expected: Any) -> float:
    """The population stability index of two distributions over the same bins (shares summing to 1)."""
    import numpy as np

    a = np.maximum(np.asarray(actual, dtype="float64"), PSI_FLOOR)
    e = np.maximum(np.asarray(expected, dtype="float64"), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def training_cdf(quantiles: list[float]) -> Any:
    """The training CDF rebuilt from its percentiles: piecewise linear, right-continuous at repeated values."""
    import numpy as np

    q = np.asarray(quantiles, dtype="float64")
    p = np.linspace(0.0, 1.0, len(q))
    xs = np.unique(q)
    ps = p[np.searchsorted(q, xs, side="right") - 1]  # a repeated value: the CDF jumps to its last percentile

    def cdf(x: Any) -> Any:
        x = np.asarray(x, dtype="float64")
        if len(xs) == 1:
            return np.where(x < xs[0], 0.0, 1.0)
        return np.where(x < xs[0], 0.0, np.where(x >= xs[-1], 1.0, np.interp(x, xs, ps)))

    return cdf


def numeric_bins(column: dict[str, Any]) -> tuple[Any, Any]:
    """(the inner bin edges: the training deciles, each bin's training share) of a numeric column profile;
    a value ``x`` falls in bin ``searchsorted(edges, x, side="left")``."""
    import numpy as np

    quantiles = np.asarray(column["quantiles"], dtype="float64")
    edges = np.unique(quantiles[10:100:10])
    cdf = training_cdf(column["quantiles"])
    return edges, np.diff(np.concatenate([[0.0], cdf(edges), [1.0]]))


def numeric_psi(column: dict[str, Any], values: Any) -> float | None:
    """PSI of finite ``values`` against a numeric column profile (None: no values)."""
    import numpy as np

    x = np.asarray(values, dtype="float64")
    x = x[np.isfinite(x)]
    if x.size == 0 or not column.get("quantiles"):
        return None
    edges, expected = numeric_bins(column)
    actual = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1) / x.size
    return psi(actual, expected)


def category_counts(column: dict[str, Any], values: Any) -> tuple[list[str], Any, Any, dict[str, int]]:
    """(bucket names, observed counts, training shares, counts of values training never saw) of ``values``
    against a categorical column profile; values outside the profiled ones go to the ``other`` bucket when
    training had others, else they are new."""
    import numpy as np

    freqs: dict[str, float] = dict(column.get("categories") or {})
    other = float(column.get("other") or 0.0)
    counts: dict[str, int] = {}
    new: dict[str, int] = {}
    other_count = 0
    for value in values:
        key = category_key(value)
        if key in freqs:
            counts[key] = counts.get(key, 0) + 1
        elif other > 0:
            other_count += 1
        else:
            new[key] = new.get(key, 0) + 1
    names = list(freqs) + (["(other)"] if other > 0 else [])
    observed = np.asarray([counts.get(k, 0) for k in freqs] + ([other_count] if other > 0 else []), dtype="float64")
    expected = np.asarray(list(freqs.values()) + ([other] if other > 0 else []), dtype="float64")
    return names, observed, expected, new


def categorical_psi(column: dict[str, Any], values: Any) -> float | None:
    _names, observed, expected, _new = category_counts(column, values)
    if observed.sum() == 0 or expected.sum() <= 0:
        return None
    return psi(observed / observed.sum(), expected / expected.sum())
