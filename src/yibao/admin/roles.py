"""Roles and what each may do: one table, checked by every entry point (API, pages, gateway).

The issue's six roles (ARCHITECTURE.md "service"): 经办 operator, 稽核 auditor, analyst, employer,
insured person, admin. Least privilege: the admin manages accounts and reads the audit trail but
handles no case; the analyst sees rules, calculators and aggregates, never a person; an employer
clerk sees and declares for their own unit; an insured person sees only their own records; a
designated provider's system (定点医药机构, a seventh role) sends the platform's messages and nothing else
(:func:`yibao.admin.register.check_person_visible` bounds the rows; this table the actions).
"""

from __future__ import annotations

from yibao.admin.uow import Actor
from yibao.errors import Forbidden

__all__ = ["PERMISSIONS", "ROLES", "ROLE_NAMES", "STAFF_ROLES", "allowed", "authorize"]

ROLES: tuple[str, ...] = ("operator", "auditor", "analyst", "employer", "insured", "admin", "provider")
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "operator": ("经办", "operator"),
    "auditor": ("稽核", "auditor"),
    "analyst": ("分析", "analyst"),
    "employer": ("用人单位", "employer"),
    "insured": ("参保人", "insured person"),
    "admin": ("系统管理", "administrator"),
    "provider": ("定点医药机构", "designated provider"),
}
#: Roles that belong to a bureau's regions (their accounts must name at least one).
STAFF_ROLES: frozenset[str] = frozenset({"operator", "auditor"})

#: permission → roles holding it. ``system`` (batch jobs, the CLI's own runs) holds every one.
PERMISSIONS: dict[str, frozenset[str]] = {
    "person.read": frozenset({"operator", "auditor"}),
    "person.write": frozenset({"operator"}),  # register, enroll, end or change an enrollment
    "contribution.write": frozenset({"operator"}),  # wage declarations, payments
    "claim.read": frozenset({"operator", "auditor"}),
    "claim.write": frozenset({"operator"}),  # settle, reverse
    "case.read": frozenset({"operator", "auditor"}),  # transfers, retirement checks
    "case.write": frozenset({"operator"}),
    "arrears.read": frozenset({"operator", "auditor", "employer"}),
    "employer.read": frozenset({"operator", "auditor", "employer"}),
    "employer.write": frozenset({"operator"}),
    "payroll.declare": frozenset({"operator", "employer"}),
    "audit.read": frozenset({"auditor", "admin"}),
    "self.read": frozenset({"insured"}),
    "user.manage": frozenset({"admin"}),
    "gateway.use": frozenset({"provider"}),  # a hospital system's token: the platform messages only
    "worklist.read": frozenset({"operator", "auditor"}),  # precise enrollment's lists, by region
    "lab.read": frozenset({"analyst", "auditor", "admin", "operator"}),  # aggregates only
}


def allowed(actor: Actor, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(permission)  # a typo in a route must fail loudly, not deny or allow silently
    return actor.role == "system" or actor.role in PERMISSIONS[permission]


def authorize(actor: Actor, permission: str) -> None:
    """Raise :class:`~yibao.errors.Forbidden` unless ``actor``'s role holds ``permission``."""
    if not allowed(actor, permission):
        zh, en = ROLE_NAMES.get(actor.role, (actor.role, actor.role))
        raise Forbidden(
            f"角色「{zh}」无权执行此操作（{permission}）", f"the {en} role may not do this ({permission})"
        )
