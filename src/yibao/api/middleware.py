"""Request ids, security headers and one structured log line per request.

The access line is JSON (request id, method, path, status, milliseconds, the signed-in user) with
ID and mobile numbers in the path masked and no query string (it may carry a name or an ID
number); ``yibao serve`` turns uvicorn's own access log off so no unmasked copy is written.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from yibao.ids import MaskingFilter, mask_text

__all__ = ["SECURITY_HEADERS", "install"]

log = logging.getLogger("yibao.api.access")
log.addFilter(MaskingFilter())

#: Sent with every response. The pages load nothing from elsewhere (no CDN), so the content
#: security policy allows only this origin; inline scripts are not allowed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        # a caller's id is kept only if it is short and plain, so it cannot forge log lines
        rid = given if 0 < len(given) <= 64 and given.replace("-", "").isalnum() else uuid.uuid4().hex
        request.state.request_id = rid
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        log.info(
            json.dumps(
                {
                    "request_id": rid,
                    "method": request.method,
                    "path": mask_text(request.url.path),
                    "status": response.status_code,
                    "user": getattr(getattr(request.state, "principal", None), "username", None),
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                }
            )
        )
        return response
