"""Prometheus metrics at ``/metrics``: requests and their latency by route and status, requests in
flight, sign-in outcomes, settlements. Each application has its own registry (tests build many
apps in one process; a process-wide registry would refuse the second).

Labels are route templates (``/api/v1/persons/{person}``), never raw paths: a path can carry an
ID number, and one series per person would swamp the server. With several uvicorn workers each
process reports its own counters; scrape each, or run one worker per container.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def _route(scope: Scope) -> str:
    # the router records the matched route in the request's scope
    return str(getattr(scope.get("route"), "path", None) or "unmatched")


class _Measure:
    """Plain ASGI middleware (see :mod:`yibao.api.middleware` for why not ``BaseHTTPMiddleware``)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/metrics":
            await self.app(scope, receive, send)
            return
        m = self.metrics
        m.in_flight.inc()
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            m.in_flight.dec()
            route, method = _route(scope), str(scope.get("method"))
            m.requests.labels(route, method, str(status)).inc()
            m.latency.labels(route, method).observe(time.perf_counter() - start)


def install(app: FastAPI) -> Metrics:
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(_Measure, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
