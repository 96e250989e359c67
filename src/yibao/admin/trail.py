"""The audit trail as one reader may see it: the events of the reader's regions, or every event
about one person once that person is the reader's to see (:func:`yibao.admin.register.check_person_visible`).
The API and the pages both read it here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from yibao.admin import audit, register
from yibao.admin.uow import Actor
from yibao.errors import InputError

__all__ = ["trail_for"]


def trail_for(
    session: Session,
    actor: Actor,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    user: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    regions = actor.regions
    if subject_type == "person" and subject_id:
        if not subject_id.isdecimal():
            raise InputError(
                "subject_id", subject_id, "应为人员登记号", "expected a person's register number"
            )
        register.check_person_visible(session, actor, int(subject_id))
        regions = None
    return audit.trail(
        session,
        actor,
        subject_type=subject_type,
        subject_id=subject_id,
        user=user,
        action=action,
        regions=regions,
        limit=limit,
        offset=offset,
    )
