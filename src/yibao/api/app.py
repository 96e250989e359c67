"""The application: ``create_app()`` wires middleware, error handlers, health checks and routers.

Health: ``/healthz`` (the process answers) and ``/readyz`` (the rules load: the shipped regions
resolve). Every response carries ``X-Request-ID`` and the security headers of
:mod:`yibao.api.middleware`; every error is the JSON of :mod:`yibao.api.errors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from yibao import __version__
from yibao.api import errors, metrics, middleware
from yibao.api.deps import get_registry
from yibao.api.routers import (
    approvals,
    audit,
    auth,
    calc,
    cases,
    claims,
    contributions,
    gateway,
    me,
    operations,
    policy,
    register,
)
from yibao.db.engine import make_engine
from yibao.web import approvals as web_approvals
from yibao.web import pages, results, session_pages, staff

__all__ = ["create_app"]


def create_app(engine: Engine | None = None, data_dir: str | Path | None = None) -> FastAPI:
    """The service over ``engine`` (default: :func:`yibao.db.engine.make_engine`, i.e.
    ``YIBAO_DATABASE_URL`` or ``./yibao.db``; its schema must be current, ``yibao serve`` upgrades)."""
    app = FastAPI(
        title="yibao 医保 API",
        version=__version__,
        description="职工基本医疗保险：政策、计算与经办 / employee medical insurance: rules, "
        "calculators and administration. 金额为元字符串 / amounts are yuan strings.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )  # Swagger UI loads from a CDN
    app.state.engine = engine if engine is not None else make_engine()
    app.state.data_dir = data_dir  # worklists and lab runs (yibao.web.results); None: YIBAO_DATA_DIR
    middleware.install(app)
    metrics.install(app)
    errors.install(app)

    @app.get("/healthz", tags=["health"], summary="进程存活 / the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="规则可用、数据库可达 / the rules load and the database answers",
        responses={503: {"model": errors.ErrorOut, "description": "数据库不可用 / database unavailable"}},
    )
    def readyz(request: Request) -> Any:
        regions = get_registry().regions()
        try:
            with app.state.engine.connect() as c:
                c.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            first = str(exc).splitlines()[0][:200]
            body = errors.error_body(
                request,
                "DatabaseUnavailable",
                f"数据库不可用：{first}",
                f"the database is unavailable: {first}",
            )
            return JSONResponse(body, status_code=503)
        return {"status": "ready", "regions": len(regions), "database": app.state.engine.dialect.name}

    app.include_router(pages.router)
    app.include_router(session_pages.router)
    app.include_router(staff.router)
    app.include_router(results.router)
    app.include_router(web_approvals.router)
    app.mount("/static", StaticFiles(directory=pages.static_dir()), name="static")
    app.include_router(policy.router, responses=errors.ERROR_RESPONSES)
    app.include_router(calc.router, responses=errors.ERROR_RESPONSES)
    app.include_router(auth.router, responses=errors.ERROR_RESPONSES)
    protected = {**errors.ERROR_RESPONSES, **errors.AUTH_RESPONSES}
    routers = (
        register.router,
        contributions.router,
        claims.router,
        cases.router,
        me.router,
        audit.router,
        gateway.router,
        operations.router,
        approvals.router,
    )
    for r in routers:
        app.include_router(r, responses=protected)
    return app
