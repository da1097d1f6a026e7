"""Prometheus metrics of the tracking server itself, at ``GET /metrics`` (sign-in required with auth).

| metric | type | labels |
| --- | --- | --- |
| ``dockyard_server_requests_total`` | counter | ``method``, ``route`` (the route's template), ``status`` |
| ``dockyard_server_errors_total`` | counter: answers 500 and above | ``route``, ``status`` |
| ``dockyard_server_request_duration_seconds`` | histogram | ``route`` |
| ``dockyard_server_requests_in_progress`` | gauge | |
| ``dockyard_server_db_pool_connections`` | gauge: the database pool | ``state``: size, checked_out, overflow, idle |
| ``dockyard_server_workers`` | gauge: worker processes this scrape sums | |

Routes are labelled by their template (``/api/2.0/mlflow/logged-models/{model_id}``), never by the raw
path, so the number of series stays bounded (a request refused before routing, by sign-in or the host
check, is labelled with the route it was for); a request no route matches is ``unmatched``. With
``--workers N`` the workers share their figures (:mod:`dockyard.core.shared_metrics`), so any scrape
answers for all of them. No third-party library: the figures are kept here and written in Prometheus's
text format.

>>> metrics = ServerMetrics()
>>> metrics.observe("GET", "/health", 200, 0.003)
>>> b'dockyard_server_requests_total{method="GET",route="/health",status="200"} 1.0' in metrics.render()
True
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from typing import Any

from dockyard.core.shared_metrics import CONTENT_TYPE, Family, SharedFolder, render

__all__ = ["CONTENT_TYPE", "MetricsMiddleware", "ServerMetrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "unmatched"


class ServerMetrics:
    """The server's figures (thread-safe); ``pool`` reports the database pool, ``shared_dir`` is the
    folder the workers share (None with one worker)."""

    def __init__(self, *, pool: Callable[[], dict[str, int]] | None = None, shared_dir: str | None = None) -> None:
        self.pool = pool
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], float] = {}
        self._errors: dict[tuple[str, str], float] = {}
        self._buckets: dict[str, list[float]] = {}  # route -> count per bucket (+Inf last)
        self._sums: dict[str, float] = {}
        self.in_progress = 0
        self.shared = SharedFolder(shared_dir, self._counted) if shared_dir else None

    def started(self) -> None:
        with self._lock:
            self.in_progress += 1

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        code = str(status)
        with self._lock:
            self.in_progress = max(0, self.in_progress - 1)
            key = (method, route, code)
            self._requests[key] = self._requests.get(key, 0.0) + 1
            if status >= 500:
                self._errors[(route, code)] = self._errors.get((route, code), 0.0) + 1
            buckets = self._buckets.setdefault(route, [0.0] * (len(LATENCY_BUCKETS) + 1))
            buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._sums[route] = self._sums.get(route, 0.0) + seconds

    def _counted(self) -> list[Family]:
        """Counters and histograms: what workers sum."""
        with self._lock:
            requests = [
                ("dockyard_server_requests_total", {"method": m, "route": r, "status": s}, n)
                for (m, r, s), n in self._requests.items()
            ]
            errors = [
                ("dockyard_server_errors_total", {"route": r, "status": s}, n) for (r, s), n in self._errors.items()
            ]
            histogram: list[tuple[str, dict[str, str], float]] = []
            for route, counts in self._buckets.items():
                cumulative = 0.0
                for bound, count in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                    cumulative += count
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    histogram.append(
                        ("dockyard_server_request_duration_seconds_bucket", {"route": route, "le": le}, cumulative)
                    )
                histogram.append(("dockyard_server_request_duration_seconds_count", {"route": route}, cumulative))
                histogram.append(("dockyard_server_request_duration_seconds_sum", {"route": route}, self._sums[route]))
        return [
            ("dockyard_server_requests", "counter", "Requests answered.", requests),
            ("dockyard_server_errors", "counter", "Requests answered with a server error (500 and above).", errors),
            (
                "dockyard_server_request_duration_seconds",
                "histogram",
                "Time from the request's arrival to the end of its answer.",
                histogram,
            ),
        ]

    def _gauges(self) -> list[Family]:
        families: list[Family] = [
            (
                "dockyard_server_requests_in_progress",
                "gauge",
                "Requests being answered.",
                [("dockyard_server_requests_in_progress", {}, float(self.in_progress))],
            )
        ]
        if self.pool is not None:
            status = self.pool()
            families.append(
                (
                    "dockyard_server_db_pool_connections",
                    "gauge",
                    "Connections of this worker's database pool, by state.",
                    [("dockyard_server_db_pool_connections", {"state": k}, float(v)) for k, v in status.items()],
                )
            )
        return families

    def render(self) -> bytes:
        families = [*self._counted(), *self._gauges()]
        workers = 1
        if self.shared is not None:
            families, workers = self.shared.merged(families)
        help_text = "Worker processes whose figures this scrape sums."
        return render(
            [
                *families,
                ("dockyard_server_workers", "gauge", help_text, [("dockyard_server_workers", {}, float(workers))]),
            ]
        )

    def close(self) -> None:
        if self.shared is not None:
            self.shared.stop()


class MetricsMiddleware:
    """Counts and times every HTTP request, labelled by the route template the router matched."""

    def __init__(self, app: Any, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app raises before answering, the outer middleware answers 500
        self.metrics.started()

        async def recording(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            template = getattr(scope.get("route"), "path", None) or _route_of(scope)
            self.metrics.observe(scope.get("method", "GET"), template, status, time.perf_counter() - started)


def _route_of(scope: dict[str, Any]) -> str:
    """The template of the route ``scope`` is for, when the router never saw it (sign-in or the host check
    refused it first), else ``unmatched``."""
    from starlette.routing import Match

    app = scope.get("app")
    for route in getattr(app, "routes", ()):
        match, _child = route.matches(scope)
        if match is Match.FULL:
            return str(route.path)
    return UNMATCHED
