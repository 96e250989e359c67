"""Retention and purpose: what each kind of personal record is for, on what legal basis, for how
long, and the purge job that deletes what has outlived it (PIPL Art. 19, 47; the table is
``retention.yaml`` beside this module, each period with its source or marked as ours).

:func:`purge` deletes the records whose kind says ``delete`` and whose period has passed (sign-in
attempts, ended browser sessions, idempotency keys) and pseudonymises the register entries whose
period has passed since death or the end of the last enrollment (the entry stays, because ledger
rows name it, but the ID number becomes a keyed pseudonym, the name and phone go, the birth date
keeps only its year). It writes one audit row with the counts, and changes nothing with
``dry_run``. The ledger and the audit log are never touched by it.
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
from yibao.db.crypto import blind_index
from yibao.db.models.auth import LoginAttempt, WebSession
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.ops import IdempotencyKey
from yibao.db.models.register import Person

__all__ = ["PurgeReport", "purge", "table"]

_PURGED: dict[str, tuple[Any, Any]] = {
    "login_attempt": (LoginAttempt, LoginAttempt.at),
    "web_session": (WebSession, WebSession.expires_at),
    "idempotency_key": (IdempotencyKey, IdempotencyKey.created_at),
}


PSEUDONYM_KIND = "pseudonymised"


def _pseudonymise(session: Session, now: dt.datetime, keep_years: int, dry_run: bool) -> int:
    """Register entries ``keep_years`` past death or their last enrollment's end (none open)."""
    cutoff = now.date().replace(year=now.year - keep_years)
    open_ = select(Enrollment.person_id).where(Enrollment.end_month.is_(None))
    last_end = (select(Enrollment.person_id, func.max(Enrollment.end_month).label("m"))
                .group_by(Enrollment.person_id).subquery())
    # dates only: the encrypted fields are read (decrypted) just for the people who are due
    rows = session.execute(
        select(Person.id, Person.death_date, Person.created_at, last_end.c.m)
        .outerjoin(last_end, last_end.c.person_id == Person.id)
        .where(Person.id_kind != PSEUDONYM_KIND, Person.id.not_in(open_))).all()
    due = []
    for pid, death, created, m in rows:
        ended = dt.date(m // 100, m % 100, 28) if m else None
        since = max(d for d in (death, ended, created.date()) if d is not None)
        if since < cutoff:
            due.append(pid)
    if not dry_run:
        for pid in due:
            p = session.get_one(Person, pid)
            p.id_number = "P" + blind_index(f"pseudonym:{p.id_number}")[:31]  # type: ignore[index]
            p.id_kind, p.name, p.phone = PSEUDONYM_KIND, "（已假名化）", None
            p.birth_date = p.birth_date.replace(month=1, day=1)
            p.residence_region = None
    return len(due)


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
        if rec["action"] == "pseudonymise":
            counts[f"{name}.pseudonymised"] = _pseudonymise(session, now, int(rec["keep_years"]), dry_run)
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
