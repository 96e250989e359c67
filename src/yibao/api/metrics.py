"""Prometheus metrics at ``/metrics``: requests and their latency by route and status, requests in
flight, sign-in outcomes, settlements. Each application has its own registry (tests build many
apps in one process; a process-wide registry would refuse the second).

Labels are route templates (``/api/v1/persons/{person}``), never raw paths: a path can carry an
ID number, and one series per person would swamp the server. With several uvicorn workers each
process reports its own counters; scrape each, or run one worker per container.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["Metrics", "install"]


class Metrics:
    """The service's metrics, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "yibao_http_requests",
            "HTTP requests by route template, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "yibao_http_request_seconds",
            "HTTP request latency by route template and method",
            ("route", "method"),
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.in_flight = Gauge(
            "yibao_http_requests_in_flight", "requests being served", registry=self.registry
        )


def _route(request: Request) -> str:
    # the router records the matched route in the request's scope
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


def install(app: FastAPI) -> Metrics:
    metrics = Metrics()
    app.state.metrics = metrics

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path == "/metrics":
            return await call_next(request)
        metrics.in_flight.inc()
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            metrics.in_flight.dec()
            route = _route(request)
            metrics.requests.labels(route, request.method, str(status)).inc()
            metrics.latency.labels(route, request.method).observe(time.perf_counter() - start)

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
