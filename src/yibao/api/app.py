"""The application: ``create_app()`` wires middleware, error handlers, health checks and routers.

Health: ``/healthz`` (the process answers) and ``/readyz`` (the rules load: the shipped regions
resolve). Every response carries ``X-Request-ID`` and the security headers of
:mod:`yibao.api.middleware`; every error is the JSON of :mod:`yibao.api.errors`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from yibao import __version__
from yibao.api import errors, middleware
from yibao.api.deps import get_registry
from yibao.api.routers import calc, policy
from yibao.web import pages

__all__ = ["create_app"]


def create_app() -> FastAPI:
    app = FastAPI(
        title="yibao 医保 API",
        version=__version__,
        description="职工基本医疗保险：政策、计算与经办 / employee medical insurance: rules, "
        "calculators and administration. 金额为元字符串 / amounts are yuan strings.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )  # Swagger UI loads from a CDN
    middleware.install(app)
    errors.install(app)

    @app.get("/healthz", tags=["health"], summary="进程存活 / the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="规则可用 / the rules load")
    def readyz() -> dict[str, Any]:
        regions = get_registry().regions()
        return {"status": "ready", "regions": len(regions)}

    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.static_dir()), name="static")
    app.include_router(policy.router, responses=errors.ERROR_RESPONSES)
    app.include_router(calc.router, responses=errors.ERROR_RESPONSES)
    return app
