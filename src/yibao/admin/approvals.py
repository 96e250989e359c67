"""Four-eyes approval (双人复核): operations that a second, different person must approve.

Insider fraud in this field is a clerk who edits an identity, adjusts a balance, writes off a debt,
pays a large claim or exports the register alone. GB/T 22239-2019 level 3 asks that important
operations be separated between people (8.1.10.2 / 8.1.4.2 最小权限与权限分离), and PIPL Art. 51
for internal management and access control. These operations need a reviewer (复核):

=====================  ==========================================================================
kind                   when
=====================  ==========================================================================
``identity_edit``      a person's ID number or name is corrected
``account_adjustment`` a manual adjustment of an individual account's balance (always)
``write_off``          arrears are written off (always)
``large_claim``        a claim settled by staff whose total cost is at least the region's
                       ``claim_review_fen`` (default :data:`DEFAULT_CLAIM_REVIEW_FEN`); claims that
                       a designated provider settles in real time through the platform gateway are
                       reviewed afterwards (事后审核), as the platform does, not held
``export``             an export with full identities of more people than the region's
                       ``export_review_rows`` (default :data:`DEFAULT_EXPORT_REVIEW_ROWS`)
=====================  ==========================================================================

The flow: the service calls :func:`check` before it changes anything. Unless the actor acts under
an approved request for exactly this command, :class:`ApprovalRequired` is raised (nothing
changes); the entry point then :func:`submit`\\ s the request — the command's arguments kept
encrypted — and answers "waiting for approval" (HTTP 202). A reviewer of the region
:func:`decide`\\ s: self-approval is refused; rejecting needs a reason; approving runs the command,
in the same transaction, as the requester acting under the approval (so the audit trail names
both). An export is run by the requester afterwards with the approval's number. Batch jobs of the
system itself (``SYSTEM``) are not held.

The thresholds are the bureau's own settings, not policy parameters: the defaults are yibao's and
are stated as such (docs/security.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin import audit
from yibao.admin.roles import allowed, authorize
from yibao.admin.uow import Actor, request_hash
from yibao.db.base import utcnow
from yibao.db.models.approvals import ApprovalRequest
from yibao.db.models.register import Region
from yibao.errors import Forbidden, InputError, YibaoError
from yibao.money import fen_to_yuan_str

__all__ = [
    "DEFAULT_CLAIM_REVIEW_FEN",
    "DEFAULT_EXPORT_REVIEW_ROWS",
    "KINDS",
    "ApprovalRequired",
    "Command",
    "check",
    "claim_review_fen",
    "decide",
    "executes",
    "export_review_rows",
    "get",
    "listing",
    "set_thresholds",
    "submit",
]

#: yibao's defaults until a region sets its own (not from a policy source: a bureau's choice).
DEFAULT_CLAIM_REVIEW_FEN = 5_000_000  # 50,000 yuan of total cost
DEFAULT_EXPORT_REVIEW_ROWS = 1_000

KINDS: dict[str, tuple[str, str]] = {
    "identity_edit": ("身份信息更正", "identity edit"),
    "account_adjustment": ("个人账户手工调整", "manual account adjustment"),
    "write_off": ("欠费核销", "write-off"),
    "large_claim": ("大额费用结算", "large claim"),
    "export": ("批量导出个人信息", "bulk export of personal data"),
}
STATUSES = ("pending", "approved", "rejected", "executed")


@dataclass(frozen=True)
class Command:
    """An operation as a reviewer sees it: its kind and region, its arguments (``payload``, the
    service's own request), what it is about, and a masked summary in both languages."""

    kind: str
    region: str | None
    payload: dict[str, Any]
    subject_type: str
    subject_id: object
    summary_zh: str
    summary_en: str


class ApprovalRequired(YibaoError):
    """The operation waits for a reviewer; nothing was changed. Carries what :func:`submit` keeps."""

    def __init__(self, actor: Actor, command: Command) -> None:
        self.actor, self.command = actor, command
        zh, en = KINDS[command.kind]
        super().__init__(
            f"{zh}须经另一名复核人员批准；已提交复核申请，批准后自动办理",
            f"a {en} needs a second person's approval; the request is submitted and "
            "is done once a reviewer approves it",
        )


def claim_review_fen(session: Session, region: str) -> int:
    """The total cost from which a claim settled by staff needs a reviewer."""
    row = session.get(Region, region)
    return (
        DEFAULT_CLAIM_REVIEW_FEN if row is None or row.claim_review_fen is None else int(row.claim_review_fen)
    )


def export_review_rows(session: Session, region: str | None) -> int:
    """The number of people above which an export with full identities needs a reviewer."""
    row = session.get(Region, region) if region else None
    return (
        DEFAULT_EXPORT_REVIEW_ROWS
        if row is None or row.export_review_rows is None
        else int(row.export_review_rows)
    )


def check(session: Session, actor: Actor, command: Command) -> None:
    """Pass if ``actor`` is the system or acts under an approved request for this very command
    (which is then marked executed); else raise :class:`ApprovalRequired`."""
    if actor.role == "system":
        return
    if actor.approval_id is None:
        raise ApprovalRequired(actor, command)
    req = session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.id == actor.approval_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if (
        req is None
        or req.kind != command.kind
        or req.region_code != command.region
        or req.request_hash != request_hash(command.payload)
    ):
        raise InputError(
            "approval",
            actor.approval_id,
            "该复核申请不是批准本操作的（类别、地区或内容不同）",
            "that approval is for another operation (kind, region or content differ)",
        )
    if req.requested_by != actor.user:
        raise Forbidden("只有提交申请的人可以使用此批准", "only the person who asked may use this approval")
    if req.status != "approved":
        raise InputError(
            "approval",
            actor.approval_id,
            f"复核申请的状态是 {req.status}，须为 approved",
            f"the approval's status is {req.status}; it must be approved",
        )
    req.status, req.executed_at = "executed", utcnow()


def submit(session: Session, err: ApprovalRequired) -> ApprovalRequest:
    """Keep the request (or return the same requester's identical pending one)."""
    c = err.command
    h = request_hash(c.payload)
    same = session.scalar(
        select(ApprovalRequest).where(
            ApprovalRequest.requested_by == err.actor.user,
            ApprovalRequest.kind == c.kind,
            ApprovalRequest.request_hash == h,
            ApprovalRequest.status == "pending",
        )
    )
    if same is not None:
        return same
    req = ApprovalRequest(
        kind=c.kind,
        region_code=c.region,
        subject_type=c.subject_type,
        subject_id=str(c.subject_id),
        summary_zh=c.summary_zh[:256],
        summary_en=c.summary_en[:256],
        payload=json.dumps(c.payload, ensure_ascii=False, sort_keys=True),
        request_hash=h,
        requested_by=err.actor.user,
        requester_role=err.actor.role,
    )
    session.add(req)
    session.flush()
    audit.record(
        session, err.actor, "approval.request", "approval", req.id, ("kind", c.subject_type), c.region
    )
    return req


#: kind → the function that does the approved command: ``fn(session, actor, payload) -> result``.
#: Imported when used (the services import this module to call :func:`check`).
def _executor(kind: str) -> Callable[[Session, Actor, dict[str, Any]], dict[str, Any]] | None:
    if kind == "write_off":
        from yibao.admin.payments import write_off_from

        return write_off_from
    if kind == "large_claim":
        from yibao.admin.claims import settle_from

        return settle_from
    if kind == "identity_edit":
        from yibao.admin.register import correct_identity_from

        return correct_identity_from
    if kind == "account_adjustment":
        from yibao.admin.accounts import adjust_account_from

        return adjust_account_from
    return None  # export: the requester runs it with the approval's number


def executes(kind: str) -> bool:
    """Whether approving a request of ``kind`` does the operation (else the requester runs it
    again with the approval's number, as an export)."""
    return _executor(kind) is not None


def _locked(session: Session, approval_id: object) -> ApprovalRequest:
    if not isinstance(approval_id, int) or isinstance(approval_id, bool):
        raise InputError(
            "approval_id", approval_id, "应为复核申请编号（整数）", "expected an approval id (integer)"
        )
    req = session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.id == approval_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if req is None:
        raise InputError("approval_id", approval_id, "没有此复核申请", "no such approval request")
    return req


def _check_scope(actor: Actor, req: ApprovalRequest) -> None:
    if req.region_code is None:
        if actor.regions is not None:
            raise Forbidden(
                "涉及全部统筹地区的申请须由不限地区的复核人员处理",
                "a request covering every region needs a reviewer of every region",
            )
    else:
        actor.check_region(req.region_code)


def decide(session: Session, actor: Actor, approval_id: int, approve: bool, note: str = "") -> dict[str, Any]:
    """Approve (and do) or reject a pending request; never one's own."""
    authorize(actor, "approval.decide")
    req = _locked(session, approval_id)
    _check_scope(actor, req)
    if req.requested_by == actor.user:
        raise Forbidden("不能批准或驳回自己提交的申请", "you may not decide on your own request")
    if req.status != "pending":
        raise InputError(
            "approval_id",
            approval_id,
            f"该申请已处理（{req.status}）",
            f"the request was already decided ({req.status})",
        )
    why = (note or "").strip()
    if not approve and not (1 <= len(why) <= 256):
        raise InputError(
            "note", note, "驳回须写明原因（1–256 个字符）", "a rejection needs a reason (1-256 characters)"
        )
    if len(why) > 256:
        raise InputError("note", note[:40], "意见不超过 256 个字符", "the note is at most 256 characters")
    req.decided_by, req.decided_at, req.decision_note = actor.user, utcnow(), why or None
    req.status = "approved" if approve else "rejected"
    audit.record(
        session,
        actor,
        "approval.approve" if approve else "approval.reject",
        "approval",
        req.id,
        ("status",),
        req.region_code,
    )
    run = _executor(req.kind) if approve else None
    if run is not None:
        requester = Actor(
            user=req.requested_by,
            role=req.requester_role,
            regions=None if req.region_code is None else (req.region_code,),
            purpose=f"approved by {actor.user} (#{req.id})",
            request_id=actor.request_id,
            approval_id=req.id,
        )
        result = run(session, requester, json.loads(req.payload))
        req.result = json.dumps(result, ensure_ascii=False, default=str)
    return view(req)


def view(req: ApprovalRequest) -> dict[str, Any]:
    zh, en = KINDS[req.kind]
    return {
        "id": req.id,
        "kind": req.kind,
        "kind_zh": zh,
        "kind_en": en,
        "region": req.region_code,
        "subject": f"{req.subject_type}:{req.subject_id}",
        "summary_zh": req.summary_zh,
        "summary_en": req.summary_en,
        "requested_by": req.requested_by,
        "requested_at": req.requested_at.isoformat(timespec="seconds"),
        "status": req.status,
        "decided_by": req.decided_by,
        "decided_at": req.decided_at.isoformat(timespec="seconds") if req.decided_at else None,
        "note": req.decision_note,
        "executed_at": req.executed_at.isoformat(timespec="seconds") if req.executed_at else None,
        "result": json.loads(req.result) if req.result else None,
    }


def _visible(actor: Actor) -> Any:
    """Reviewers see their regions' requests; anyone else only their own."""
    if allowed(actor, "approval.decide"):
        if actor.regions is None:
            return None
        return ApprovalRequest.region_code.in_(actor.regions)
    authorize(actor, "approval.read")
    return ApprovalRequest.requested_by == actor.user


def listing(
    session: Session, actor: Actor, status: str | None = "pending", limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Requests the actor may see, newest first."""
    if status is not None and status not in STATUSES:
        raise InputError("status", status, f"可选：{', '.join(STATUSES)}", f"accepted: {', '.join(STATUSES)}")
    q = select(ApprovalRequest)
    scope = _visible(actor) if actor.role != "system" else None
    if scope is not None:
        q = q.where(scope)
    if status is not None:
        q = q.where(ApprovalRequest.status == status)
    rows = session.scalars(q.order_by(ApprovalRequest.id.desc()).limit(limit).offset(offset))
    return [view(r) for r in rows]


def get(session: Session, actor: Actor, approval_id: int) -> dict[str, Any]:
    req = session.get(ApprovalRequest, approval_id)
    if req is None:
        raise InputError("approval_id", approval_id, "没有此复核申请", "no such approval request")
    if actor.role != "system":
        if allowed(actor, "approval.decide"):
            _check_scope(actor, req)
        elif req.requested_by != actor.user:
            authorize(actor, "approval.read")
            raise Forbidden("只能查看自己提交的申请", "you may see only your own requests")
    return view(req)


@dataclass(frozen=True)
class Thresholds:
    region: str
    claim_review_fen: int
    export_review_rows: int


def set_thresholds(
    session: Session,
    actor: Actor,
    region: str,
    claim_review: int | None = None,
    export_review: int | None = None,
) -> Thresholds:
    """The region's four-eyes thresholds (the security administrator's setting; audited)."""
    authorize(actor, "security.manage")
    row = session.get(Region, region)
    if row is None:
        raise InputError("region", region, "不是本系统管理的统筹地区", "not a region of this installation")
    if claim_review is not None:
        if not (0 < claim_review <= 10**11):
            raise InputError(
                "claim_review",
                fen_to_yuan_str(claim_review),
                "应为 0.01–10 亿元",
                "expected 0.01 to 1,000,000,000 yuan",
            )
        row.claim_review_fen = claim_review
    if export_review is not None:
        if not (1 <= export_review <= 10**8):
            raise InputError(
                "export_review", export_review, "应为 1–1 亿人", "expected 1 to 100,000,000 people"
            )
        row.export_review_rows = export_review
    audit.record(
        session,
        actor,
        "approval.thresholds",
        "region",
        region,
        ("claim_review_fen", "export_review_rows"),
        region,
    )
    session.flush()
    return Thresholds(region, claim_review_fen(session, region), export_review_rows(session, region))
