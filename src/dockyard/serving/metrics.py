"""Prometheus metrics of one scoring app, on a registry of its own (never prometheus-client's global one).

| metric | type | labels |
| --- | --- | --- |
| ``dockyard_serving_requests_total`` | counter | ``endpoint``, ``status``, ``model_version`` |
| ``dockyard_serving_errors_total`` | counter | ``endpoint``, ``status``, ``error`` (the error class) |
| ``dockyard_serving_request_duration_seconds`` | histogram | ``endpoint`` |
| ``dockyard_serving_predict_duration_seconds`` | histogram | |
| ``dockyard_serving_batch_rows`` | histogram (rows per predict call) | |
| ``dockyard_serving_batch_requests`` | histogram (requests merged into one call) | |
| ``dockyard_serving_predictions_total`` | counter (rows predicted) | ``model_version`` |
| ``dockyard_serving_model_info`` | gauge, 1 for the version serving | ``model_name``, ``model_version``, ``model_id`` |
| ``dockyard_serving_model_swaps_total`` | counter | |
| ``dockyard_serving_workers`` | gauge (with ``--workers N``: the workers a scrape sums) | |

With ``--workers N`` a scrape reaches one worker, yet answers for all of them: the workers share their
figures through a folder (``ServingOptions.metrics_dir``, made by ``dockyard serve``), as
:mod:`dockyard.core.shared_metrics` describes; ``dockyard_serving_model_info`` is then 1 for a version
that any worker serves, and ``dockyard_serving_workers`` is the number of live workers summed.
"""

from __future__ import annotations

from typing import Any

from dockyard.core.errors import MissingExtra
from dockyard.core.shared_metrics import Family, SharedFolder, render
from dockyard.serving.model import ServedModel

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)
REQUEST_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServingMetrics:
    def __init__(self, shared_dir: str | None = None) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError:
            raise MissingExtra("prometheus-client", "serve") from None
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "dockyard_serving_requests", "Requests answered.", ["endpoint", "status", "model_version"], registry=r
        )
        self.errors = Counter(
            "dockyard_serving_errors", "Requests answered with an error.", ["endpoint", "status", "error"], registry=r
        )
        self.latency = Histogram(
            "dockyard_serving_request_duration_seconds",
            "Time from the request's arrival to its answer.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predict_latency = Histogram(
            "dockyard_serving_predict_duration_seconds",
            "Time of one predict call (one batch).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "dockyard_serving_batch_rows", "Rows in one predict call.", buckets=ROW_BUCKETS, registry=r
        )
        self.batch_requests = Histogram(
            "dockyard_serving_batch_requests",
            "Requests merged into one predict call.",
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.predictions = Counter("dockyard_serving_predictions", "Rows predicted.", ["model_version"], registry=r)
        self.model_info = Gauge(
            "dockyard_serving_model_info",
            "The model version being served (1) and the ones it replaced (0).",
            ["model_name", "model_version", "model_id"],
            registry=r,
        )
        self.swaps = Counter("dockyard_serving_model_swaps", "Model versions swapped in.", registry=r)
        self.shared = SharedFolder(shared_dir, lambda: snapshot(self.registry)) if shared_dir else None

    def model_loaded(self, model: ServedModel, previous: ServedModel | None = None) -> None:
        if previous is not None:
            self.model_info.labels(*_info(previous)).set(0)
            self.swaps.inc()
        self.model_info.labels(*_info(model)).set(1)

    def observe_predict(self, requests: int, rows: int, seconds: float) -> None:
        self.batch_requests.observe(requests)
        self.batch_rows.observe(rows)
        self.predict_latency.observe(seconds)

    def observe_request(
        self, endpoint: str, status: int, seconds: float, model: ServedModel | None, rows: int, error: str | None
    ) -> None:
        version = model.label if model is not None else ""
        self.requests.labels(endpoint, str(status), version).inc()
        self.latency.labels(endpoint).observe(seconds)
        if error is not None:
            self.errors.labels(endpoint, str(status), error).inc()
        elif rows:
            self.predictions.labels(version).inc(rows)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        if self.shared is None:
            return generate_latest(self.registry)
        families, workers = self.shared.merged(snapshot(self.registry))
        workers_help = "Worker processes whose figures this scrape sums."
        return render(
            [
                *families,
                ("dockyard_serving_workers", "gauge", workers_help, [("dockyard_serving_workers", {}, float(workers))]),
            ]
        )

    def close(self) -> None:
        if self.shared is not None:
            self.shared.stop()


def snapshot(registry: Any) -> list[Family]:
    """The samples of ``registry`` as plain data (what a worker writes for the others)."""
    return [
        (
            family.name,
            family.type,
            family.documentation,
            [(s.name, dict(s.labels), float(s.value)) for s in family.samples],
        )
        for family in registry.collect()
    ]


def _info(model: ServedModel) -> Any:
    return (model.name or "", model.version or "", model.model_id or "")
