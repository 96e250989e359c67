"""Retention and purpose: what each kind of personal record is for, on what legal basis, for how
long, and the purge job that deletes what has outlived it (PIPL Art. 19, 47; the table is
``retention.yaml`` beside this module, each period with its source or marked as ours).

:func:`purge` deletes the records whose kind says ``delete`` and whose period has passed (sign-in
attempts, ended browser sessions, idempotency keys), writes one audit row with the counts, and
changes nothing with ``dry_run``. Records kept for a legal period (the register, the ledger, the
audit log) are never touched by it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from yibao.admin import audit
from yibao.admin.uow import Actor
from yibao.db.base import utcnow
from yibao.db.models.auth import LoginAttempt, WebSession
from yibao.db.models.ops import IdempotencyKey

__all__ = ["PurgeReport", "purge", "table"]

_PURGED: dict[str, tuple[Any, Any]] = {
    "login_attempt": (LoginAttempt, LoginAttempt.at),
    "web_session": (WebSession, WebSession.expires_at),
    "idempotency_key": (IdempotencyKey, IdempotencyKey.created_at),
}


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    """The retention table (records and sources), as shipped."""
    doc: dict[str, Any] = yaml.safe_load(
        resources.files("yibao.admin").joinpath("retention.yaml").read_text(encoding="utf-8")
    )
    for name, rec in doc["records"].items():
        assert rec["source"] in doc["sources"], name  # every period names its source
        assert ("keep_days" in rec) != ("keep_years" in rec), name
    return doc


@dataclass(frozen=True)
class PurgeReport:
    as_of: str
    deleted: dict[str, int]
    dry_run: bool


def purge(
    session: Session, actor: Actor, now: dt.datetime | None = None, dry_run: bool = False
) -> PurgeReport:
    """Delete what has outlived its period (module docstring)."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    for name, rec in table()["records"].items():
        if rec["action"] != "delete":
            continue
        model, column = _PURGED[name]
        cutoff = now - dt.timedelta(days=int(rec["keep_days"]))
        n = int(session.scalar(select(func.count()).select_from(model).where(column < cutoff)) or 0)
        if n and not dry_run:
            session.execute(delete(model).where(column < cutoff))
        counts[name] = n
    if not dry_run:
        audit.record(
            session,
            actor,
            "retention.purge",
            "retention",
            now.date().isoformat(),
            [f"{k}={v}" for k, v in counts.items()],
        )
    return PurgeReport(now.isoformat(), counts, dry_run)
