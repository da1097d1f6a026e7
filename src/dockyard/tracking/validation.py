"""Input rules for the tracking API, with MLflow's limits. Every error names the field and the reason.

>>> check_key("val/loss", "metric key")
'val/loss'
>>> check_key("../x", "metric key")
Traceback (most recent call last):
...
dockyard.core.errors.InvalidParameter: metric key '../x' is invalid: it must not be a relative path like '..' or './'
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable
from typing import Any

from dockyard.core.errors import InvalidParameter
from dockyard.core.validation import check_int, check_key, check_string
from dockyard.tracking.entities import Metric, Param, RunTag

MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_RUN_NAME_LENGTH = 250
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_ENTITIES = 1000
MAX_SEARCH_RUNS = 50_000
MAX_SEARCH_EXPERIMENTS = 50_000
MAX_METRIC_HISTORY_PAGE = 25_000

_ID = re.compile(r"[A-Za-z0-9][\w\-]{0,255}")


def check_metric_value(value: Any, key: str) -> float:
    if type(value) is float:
        return value
    if isinstance(value, numbers.Real):  # ints, bools (as MLflow: 1.0 / 0.0), numpy scalars
        return float(value)
    raise InvalidParameter(f"metric {key!r}: value must be a number, got {type(value).__name__} {str(value)[:40]!r}")


def check_run_id(run_id: Any, field: str = "run_id") -> str:
    if not isinstance(run_id, str) or not _ID.fullmatch(run_id):
        raise InvalidParameter(f"{field} {run_id!r} is not a valid run id")
    return run_id


def check_experiment_id(experiment_id: Any, field: str = "experiment_id") -> str:
    text = (
        str(experiment_id) if isinstance(experiment_id, int) and not isinstance(experiment_id, bool) else experiment_id
    )
    if not isinstance(text, str) or not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise InvalidParameter(f"{field} {experiment_id!r} is not a valid experiment id (a string of digits)")
    return str(int(text))


def check_experiment_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str):
        raise InvalidParameter(f"experiment {field} must be a string, got {type(name).__name__}")
    if not name.strip():
        raise InvalidParameter(f"experiment {field} must not be empty")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameter(
            f"experiment {field} is {len(name)} characters; the limit is {MAX_EXPERIMENT_NAME_LENGTH}"
        )
    return name


class EntityChecks:
    """Validation of metrics, params and tags, shared by the service, the remote client and the
    client's pre-checks (so a value is refused at the call, not later in a background write)."""

    def __init__(self) -> None:
        self._good_keys: set[str] = set()  # metric keys already validated

    def metric(self, metric: Metric) -> Metric:
        # Fast path: most metrics are logged under a few keys with plain float/int values.
        if (
            metric.key in self._good_keys
            and type(metric.value) is float
            and type(metric.timestamp) is int
            and type(metric.step) is int
            and -(2**63) <= metric.step < 2**63
            and -(2**63) <= metric.timestamp < 2**63
        ):
            return metric
        key = check_key(metric.key, "metric key")
        value = check_metric_value(metric.value, key)
        timestamp = check_int(metric.timestamp, f"metric {key!r} timestamp")
        step = check_int(metric.step, f"metric {key!r} step")
        if len(self._good_keys) < 10_000:
            self._good_keys.add(key)
        if value is metric.value and timestamp is metric.timestamp and step is metric.step:
            return metric
        return Metric(key, value, timestamp, step)

    @staticmethod
    def param(param: Param) -> Param:
        key = check_key(param.key, "param key")
        value = check_string(param.value, f"param {key!r} value", MAX_PARAM_VALUE_LENGTH)
        return param if value is param.value else Param(key, value)

    @staticmethod
    def tags(tags: dict[str, Any] | Iterable[RunTag] | None) -> list[RunTag]:
        if tags is None:
            return []
        items = tags.items() if isinstance(tags, dict) else ((t.key, t.value) for t in tags)
        return [
            RunTag(check_key(k, "tag key"), check_string(val, f"tag {k!r} value", MAX_TAG_VALUE_LENGTH))
            for k, val in items
        ]
