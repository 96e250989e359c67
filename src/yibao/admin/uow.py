"""Unit of work: one transaction per command, retried on deadlock; idempotency keys; the actor.

``run(engine, fn)`` opens a transaction, calls ``fn(session)``, commits, and on a deadlock,
serialization failure or lock timeout rolls back and runs ``fn`` again (a fresh transaction sees
the winner's commit). A :class:`~yibao.errors.YibaoError` rolls back and propagates: bad input
changes nothing.

``idempotent(session, key, command, request, fn)`` makes a write command safe to replay: the key
is inserted first, so a concurrent duplicate blocks on the unique index until the first commits,
then fails, is retried by :func:`run`, and finds the stored response.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from yibao.db.models.ops import IdempotencyKey
from yibao.errors import Forbidden, YibaoError

__all__ = ["SYSTEM", "Actor", "IdempotencyConflict", "idempotent", "request_hash", "run"]

T = TypeVar("T")

_RETRY_PGCODES = {"40P01", "40001", "55P03"}  # deadlock, serialization failure, lock not available


@dataclass(frozen=True)
class Actor:
    """Who does something, in what role, for which regions (None = all), and why.

    An insured person's actor carries their ``person_id``, an employer clerk's their
    ``employer_id``: what they may see is bounded by it (:mod:`yibao.admin.roles`).
    """

    user: str
    role: str = "operator"
    regions: tuple[str, ...] | None = None
    purpose: str | None = None
    request_id: str = field(default="")
    person_id: int | None = None
    employer_id: int | None = None
    approval_id: int | None = None  # acting under an approved four-eyes request (yibao.admin.approvals)

    def check_region(self, region: str) -> None:
        """An actor limited to some regions may act only there (:class:`~yibao.errors.Forbidden`)."""
        if self.regions is not None and region not in self.regions:
            raise Forbidden(f"用户 {self.user} 无权办理统筹地区 {region} 的业务",
                            f"user {self.user} may not act for pooling region {region}")


SYSTEM = Actor("system", "system")


class IdempotencyConflict(YibaoError):
    """The key was used before for a different request."""

    def __init__(self, key: str, command: str) -> None:
        self.key = key
        super().__init__(
            f"字段 idempotency_key 的值 {key!r} 已用于另一笔不同的请求（{command}）；请换一个键",
            f"field idempotency_key: {key!r} was already used for a different request ({command}); "
            "use a new key",
        )


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # a concurrent duplicate (idempotency key, unique month); the retry sees it
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code in _RETRY_PGCODES:
            return True
        return "database is locked" in str(exc.orig)
    return False


def run(engine: Engine, fn: Callable[[Session], T], retries: int = 8) -> T:
    """Run ``fn`` in one transaction, retrying transient conflicts (see the module docstring)."""
    for attempt in range(retries + 1):
        with Session(engine, expire_on_commit=False) as session:
            try:
                with session.begin():
                    return fn(session)
            except YibaoError:
                raise
            except (DBAPIError, IntegrityError) as exc:
                if attempt == retries or not _retryable(exc):
                    raise
        time.sleep(min(0.002 * 2**attempt, 0.2))
    raise AssertionError("unreachable")  # pragma: no cover


def request_hash(request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(session: Session, key: str | None, command: str, request: Any,
               fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``fn`` once per ``key``; a replay returns the first response and changes nothing."""
    if not key:
        return fn()
    h = request_hash(request)
    done = session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
    if done is not None:
        if done.request_hash != h or done.command != command:
            raise IdempotencyConflict(key, done.command)
        stored: dict[str, Any] = json.loads(done.response)
        return stored
    row = IdempotencyKey(key=key, command=command, request_hash=h, response="{}")
    session.add(row)
    session.flush()  # claim the key first: a concurrent duplicate waits here, then fails
    response = fn()
    row.response = json.dumps(response, sort_keys=True, default=str)
    return response
