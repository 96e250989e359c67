"""What the routers share: the region registry, paging, idempotency keys, the database call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from fastapi import Header, Path, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session

from yibao.admin.uow import run
from yibao.api.security import get_engine
from yibao.policy.registry import Registry, default_registry

__all__ = [
    "IdemKey",
    "Limit",
    "Offset",
    "PathId",
    "Ref",
    "RowId",
    "call",
    "get_registry",
    "page",
    "plain",
    "row",
]

T = TypeVar("T")

#: a row's id in a path or body (the database's integer keys; larger numbers are refused, not overflowed)
RowId = Annotated[int, Field(strict=True, ge=1, le=2**53)]
PathId = Annotated[int, Path(ge=1, le=2**53)]
#: a person or unit: register number, or ID number / unified social credit code
Ref = Annotated[str, Field(strict=True, max_length=32)] | RowId
Limit = Annotated[int, Query(ge=1, le=500, description="每页条数 / page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="跳过条数 / rows to skip")]
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="幂等键：同一键重放返回第一次的结果，不重复执行 / a replay returns the first result",
    ),
]


@lru_cache(maxsize=1)
def get_registry() -> Registry:
    return default_registry()


def call(request: Request, fn: Callable[[Session], T]) -> T:
    """Run ``fn`` in one transaction of the service's database (retried on conflicts)."""
    return run(get_engine(request), fn)


def plain(value: Any) -> Any:
    """Dates as ISO text, dataclass-like rows as dicts: what JSON can carry."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "as_dict"):
        return plain(value.as_dict())
    return value


def row(values: dict[str, Any]) -> dict[str, Any]:
    """One record as JSON can carry it (see :func:`plain`)."""
    return {k: plain(v) for k, v in values.items()}


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """A page of a list: the items and where the next page starts (None: this is the last)."""
    return {
        "items": plain(items),
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(items) == limit else None,
    }
