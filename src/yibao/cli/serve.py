"""``yibao serve``: the HTTP service (issue 5) with uvicorn, on loopback unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer

from yibao.errors import InputError

__all__ = ["serve"]


def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址 / address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port")] = 8000,
) -> None:
    """启动服务（API 与页面）/ start the service (API and pages); OpenAPI at /openapi.json."""
    import uvicorn

    from yibao.api.app import create_app

    if not 1 <= port <= 65535:
        raise InputError("--port", port, "应在 1–65535", "must be 1–65535")
    typer.echo(f"yibao 服务 / service: http://{host}:{port}/  (OpenAPI: /openapi.json)")
    uvicorn.run(create_app(), host=host, port=port, log_level="info", server_header=False)
