"""Request ids, security headers and one structured log line per request.

The access line is JSON (request id, method, path, status, milliseconds, the signed-in user) with
ID and mobile numbers in the path masked and no query string (it may carry a name or an ID
number); ``yibao serve`` turns uvicorn's own access log off so no unmasked copy is written.

Written as plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` runs each request through an
extra task and stream, which cost a tenth of a settlement request (docs/performance.md).
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao.ids import MaskingFilter, mask_text

__all__ = ["SECURITY_HEADERS", "RequestContext", "install"]

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


def _request_id(scope: Scope) -> str:
    given = Headers(scope=scope).get("x-request-id", "")
    # a caller's id is kept only if it is short and plain, so it cannot forge log lines
    return given if 0 < len(given) <= 64 and given.replace("-", "").isalnum() else uuid.uuid4().hex


class RequestContext:
    """Give each request an id (``request.state.request_id``), add the headers, log the line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        start = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                for k, v in SECURITY_HEADERS.items():
                    if k not in headers:
                        headers[k] = v
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            who = state.get("principal")
            log.info(
                json.dumps(
                    {
                        "request_id": rid,
                        "method": scope.get("method"),
                        "path": mask_text(scope.get("path", "")),
                        "status": status,
                        "user": getattr(who, "username", None),
                        "ms": round((time.perf_counter() - start) * 1000, 1),
                    }
                )
            )


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext)
