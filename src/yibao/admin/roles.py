"""Roles and what each may do: one table, checked by every entry point (API, pages, gateway).

Business roles (ARCHITECTURE.md "service"): 经办 operator, 稽核 auditor (checks cases, the ledger
and the accounts: a business audit, not the audit *log*), 复核 reviewer (the second pair of eyes of
:mod:`yibao.admin.approvals`), analyst (rules, calculators and aggregates, never a person),
employer clerk (their own unit), insured person (their own records), and a designated provider's
system (定点医药机构: the platform's messages and nothing else).

The three officers (三员, GB/T 22239-2019 level 3, 8.1.4.2 访问控制 and 8.1.10.1 集中管控: separate
system, security and audit administration):

- 系统管理员 ``admin`` creates and disables the accounts of business roles and issues their tokens;
- 安全管理员 ``security_admin`` creates and disables the officers' accounts (an admin cannot make
  another admin, or an auditor of themselves), handles security alerts and the keys;
- 安全审计员 ``security_auditor`` alone reads the audit log and verifies its chain, and changes
  nothing.

No business role reads the audit log, and no officer handles a case or reads a person.
(:func:`yibao.admin.register.check_person_visible` bounds the rows; this table the actions.)
"""

from __future__ import annotations

from yibao.admin.uow import Actor
from yibao.errors import Forbidden

__all__ = ["OFFICER_ROLES", "PERMISSIONS", "ROLES", "ROLE_NAMES", "STAFF_ROLES", "allowed", "authorize"]

ROLES: tuple[str, ...] = ("operator", "auditor", "reviewer", "analyst", "employer", "insured", "provider",
                          "admin", "security_admin", "security_auditor")
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "operator": ("经办", "operator"),
    "auditor": ("稽核", "auditor"),
    "reviewer": ("复核", "reviewer"),
    "analyst": ("分析", "analyst"),
    "employer": ("用人单位", "employer"),
    "insured": ("参保人", "insured person"),
    "provider": ("定点医药机构", "designated provider"),
    "admin": ("系统管理员", "system administrator"),
    "security_admin": ("安全管理员", "security administrator"),
    "security_auditor": ("安全审计员", "security auditor"),
}
#: Roles that belong to a bureau's regions (their accounts must name at least one).
STAFF_ROLES: frozenset[str] = frozenset({"operator", "auditor", "reviewer"})
#: The three officers (三员): their accounts are managed by the security administrator only.
OFFICER_ROLES: frozenset[str] = frozenset({"admin", "security_admin", "security_auditor"})

#: permission → roles holding it. ``system`` (batch jobs, the CLI's own runs) holds every one.
PERMISSIONS: dict[str, frozenset[str]] = {
    "person.read": frozenset({"operator", "auditor", "reviewer"}),
    "person.write": frozenset({"operator"}),  # register, enroll, end or change an enrollment
    "contribution.write": frozenset({"operator"}),  # wage declarations, payments
    "claim.read": frozenset({"operator", "auditor", "reviewer"}),
    "claim.write": frozenset({"operator"}),  # settle, reverse
    "case.read": frozenset({"operator", "auditor", "reviewer"}),  # transfers, retirement checks
    "case.write": frozenset({"operator"}),
    "arrears.read": frozenset({"operator", "auditor", "reviewer", "employer"}),
    "employer.read": frozenset({"operator", "auditor", "reviewer", "employer"}),
    "employer.write": frozenset({"operator"}),
    "payroll.declare": frozenset({"operator", "employer"}),
    "ledger.read": frozenset({"auditor"}),  # trial balance, ledger verification (稽核)
    "approval.read": frozenset({"operator", "reviewer"}),  # one's own requests; a reviewer's regions
    "approval.decide": frozenset({"reviewer"}),  # four-eyes: approve or reject another's request
    "audit.read": frozenset({"security_auditor"}),  # the audit log and its chain
    "security.read": frozenset({"security_admin", "security_auditor"}),  # bulk-read alerts
    "security.manage": frozenset({"security_admin"}),  # acknowledge alerts
    "self.read": frozenset({"insured"}),
    "account.manage": frozenset({"admin", "security_admin"}),  # the accounts pages and routes
    "user.manage": frozenset({"admin"}),  # accounts of the business roles
    "officer.manage": frozenset({"security_admin"}),  # accounts of the three officers
    "gateway.use": frozenset({"provider"}),  # a hospital system's token: the platform messages only
    "worklist.read": frozenset({"operator", "auditor"}),  # precise enrollment's lists, by region
    "lab.read": frozenset({"analyst", "auditor", "operator"}),  # aggregates only
    "lab.run": frozenset({"analyst"}),  # start a lab scenario from the pages (shipped reforms only)
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
