"""User accounts, sign-in, browser sessions and machine tokens.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults: RFC 9106's second recommended
setting) and never logged or returned. Session ids and tokens are 256-bit random values the
holder keeps; the database keeps only their SHA-256, so a copy of it opens nothing.

Sign-in is rate limited in the database (so every worker process counts the same attempts):
:data:`MAX_FAILURES_PER_USER` failures for a user name, or :data:`MAX_FAILURES_PER_CLIENT` from one
address, within :data:`WINDOW` refuse further attempts until the window passes. An unknown user
name is checked against a dummy hash, so the time taken does not reveal which names exist.

:func:`attempt_login` returns its outcome instead of raising, because the attempt must be
recorded even when the sign-in fails (an exception would roll the record back).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from yibao.admin import audit, totp
from yibao.admin.register import lookup_employer, lookup_person
from yibao.admin.roles import OFFICER_ROLES, ROLES, STAFF_ROLES, allowed, authorize
from yibao.admin.uow import Actor
from yibao.db.base import as_utc, utcnow
from yibao.db.models.auth import ApiToken, LoginAttempt, UserAccount, WebSession
from yibao.db.models.register import Region
from yibao.errors import Forbidden, InputError, NotSignedIn, TooManyAttempts, YibaoError

__all__ = [
    "IDLE_MINUTES",
    "MAX_FAILURES_PER_CLIENT",
    "MAX_FAILURES_PER_USER",
    "MIN_PASSWORD",
    "SESSION_HOURS",
    "TOTP_ROLES",
    "WINDOW",
    "LoginOutcome",
    "actor_of",
    "attempt_login",
    "create_user",
    "credential_digests",
    "end_session",
    "enroll_totp",
    "issue_token",
    "list_users",
    "revoke_token",
    "session_user",
    "set_active",
    "start_session",
    "token_user",
]

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
WINDOW = dt.timedelta(minutes=15)
SESSION_HOURS = 8
#: Roles that sign in with a one-time code as well (yibao.admin.totp).
TOTP_ROLES: frozenset[str] = frozenset({"admin", "security_admin", "security_auditor", "auditor", "reviewer"})
#: A browser session idle this long ends (等保 2.0 level 3 asks for a session timeout; the value
#: is ours). Activity is seen at most every ``api.security.CACHE_SECONDS``.
IDLE_MINUTES = 30
TOKEN_PREFIX = "yb_"
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for an unknown user name, so a wrong name costs the same time as a
    wrong password; made on first use, not at import (0.15 s every command would pay)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()



def _username(value: object) -> str:
    text = str(value or "").strip()
    if not (3 <= len(text) <= 64) or not all(c.isalnum() or c in "._-@" for c in text):
        raise InputError(
            "username", value, "应为 3–64 位字母、数字或 ._-@", "expected 3-64 letters, digits or ._-@"
        )
    return text


def _check_password(password: str, username: str) -> None:
    # never echo the password back, even in an error
    if len(password) < MIN_PASSWORD:
        raise InputError(
            "password", "***", f"至少 {MIN_PASSWORD} 个字符", f"at least {MIN_PASSWORD} characters"
        )
    if password.lower() == username.lower():
        raise InputError("password", "***", "不能与用户名相同", "must differ from the user name")


def _regions(session: Session, value: object) -> str | None:
    if value is None or (isinstance(value, (list, tuple)) and not value) or str(value).strip() == "":
        return None
    items = list(value) if isinstance(value, (list, tuple)) else str(value).split(",")
    codes = [str(c).strip() for c in items if str(c).strip()]
    known = set(session.scalars(select(Region.code)))
    for c in codes:
        if c not in known:
            raise InputError(
                "regions",
                c,
                f"不是本系统登记的统筹地区；已登记：{', '.join(sorted(known)) or '无'}",
                f"not a pooling region of this installation; registered: "
                f"{', '.join(sorted(known)) or 'none'}",
            )
    return ",".join(dict.fromkeys(codes))


def _check_manager(actor: Actor) -> None:
    """``actor`` manages some accounts (either administrator), else Forbidden."""
    authorize(actor, "account.manage")


def _may_manage(actor: Actor, role: str) -> None:
    """The three officers' accounts are the security administrator's, every other account the
    system administrator's (三员分立, :mod:`yibao.admin.roles`)."""
    authorize(actor, "officer.manage" if role in OFFICER_ROLES else "user.manage")


def _managed_user(session: Session, actor: Actor, username: str) -> UserAccount:
    """The account ``username``, if ``actor`` may manage it; nobody manages their own account
    (an officer cannot give themself a token, a new one-time-code secret or another state)."""
    _check_manager(actor)
    user = session.scalar(select(UserAccount).where(UserAccount.username == str(username).strip()))
    if user is None:
        raise InputError("username", username, "没有此用户", "no such user")
    _may_manage(actor, user.role)
    if actor.user == f"user:{user.username}":
        raise Forbidden("不能管理自己的账号（须由另一名管理员办理）",
                        "you may not manage your own account (another administrator must)")
    return user


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    *,
    regions: object = None,
    person: object = None,
    employer: object = None,
    display_name: str | None = None,
) -> UserAccount:
    """Create an account (an officer's by the security administrator, any other by the system
    administrator). Staff name their regions; an insured person's account names their register
    entry, an employer clerk's their unit."""
    _check_manager(actor)
    if role not in ROLES:
        raise InputError("role", role, f"可选：{', '.join(ROLES)}", f"accepted: {', '.join(ROLES)}")
    _may_manage(actor, role)
    name = _username(username)
    _check_password(password, name)
    codes = _regions(session, regions)
    if role in STAFF_ROLES and codes is None:
        raise InputError(
            "regions",
            regions,
            "经办和稽核人员须指定所属统筹地区",
            "operators and auditors must be given their pooling regions",
        )
    if role == "insured" and person is None:
        raise InputError(
            "person", None, "参保人账号须关联登记号", "an insured person's account needs a person"
        )
    person_id = lookup_person(session, person, "person").id if role == "insured" else None
    if role == "employer":
        if employer is None:
            raise InputError(
                "employer", None, "单位账号须关联用人单位", "an employer account needs an employer"
            )
        employer_id: int | None = lookup_employer(session, employer).id
    else:
        employer_id = None
    if session.scalar(select(UserAccount.id).where(UserAccount.username == name)) is not None:
        raise InputError("username", name, "已被使用", "is already taken")
    user = UserAccount(
        username=name,
        password_hash=_hasher.hash(password),
        role=role,
        regions=codes,
        person_id=person_id,
        employer_id=employer_id,
        display_name=(display_name or "").strip()[:64] or None,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, ("username", "role", "regions"))
    log.info("user %s created with role %s", name, role)
    return user


def actor_of(user: UserAccount, request_id: str = "", purpose: str | None = None) -> Actor:
    """The :class:`Actor` a signed-in user acts as."""
    regions = tuple(user.regions.split(",")) if user.regions else None
    return Actor(
        user=f"user:{user.username}",
        role=user.role,
        regions=regions,
        purpose=purpose,
        request_id=request_id,
        person_id=user.person_id,
        employer_id=user.employer_id,
    )


@dataclass(frozen=True)
class LoginOutcome:
    user: UserAccount | None
    error: YibaoError | None


def _failures(session: Session, column: InstrumentedAttribute[str], value: str, since: dt.datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(column == value, LoginAttempt.at >= since, LoginAttempt.ok.is_(False))
        )
        or 0
    )


def attempt_login(
    session: Session,
    username: str,
    password: str,
    client: str,
    now: dt.datetime | None = None,
    otp: str | None = None,
) -> LoginOutcome:
    """Check a user name and password — and, for :data:`TOTP_ROLES`, the one-time code; record the
    attempt (a wrong code counts as a failure). See the module docstring."""
    now = now or utcnow()
    name = str(username or "").strip()[:64]
    since = now - WINDOW
    if (
        _failures(session, LoginAttempt.username, name, since) >= MAX_FAILURES_PER_USER
        or _failures(session, LoginAttempt.client, client, since) >= MAX_FAILURES_PER_CLIENT
    ):
        session.add(LoginAttempt(username=name, client=client[:64], at=now, ok=False, note="rate_limited"))
        minutes = int(WINDOW.total_seconds() // 60)
        return LoginOutcome(
            None,
            TooManyAttempts(
                f"登录失败次数过多，请 {minutes} 分钟后再试",
                f"too many failed sign-ins; try again in {minutes} minutes",
                retry_after=int(WINDOW.total_seconds()),
            ),
        )
    user = session.scalar(select(UserAccount).where(UserAccount.username == name))
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    second: NotSignedIn | None = None
    if ok and user is not None and user.role in TOTP_ROLES:
        if not user.totp_secret:
            second = NotSignedIn(
                f"该账号须先设置动态口令（yibao user totp {name}）",
                f"this account needs its one-time codes set up first (yibao user totp {name})",
            )
        else:
            step = totp.matching_step(user.totp_secret, otp or "", now.timestamp(), user.totp_last_step)
            if step is None:
                second = NotSignedIn("动态口令不正确或已用过", "wrong or already used one-time code")
            else:
                user.totp_last_step = step
        ok = second is None
    session.add(LoginAttempt(username=name, client=client[:64], at=now, ok=ok))
    if not ok or user is None:
        log.info("sign-in refused for %r from %s", name, client)
        return LoginOutcome(None, second or NotSignedIn("用户名或密码不正确", "wrong user name or password"))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    audit.record(session, actor_of(user), "user.login", "user", user.id)
    return LoginOutcome(user, None)


def start_session(session: Session, user: UserAccount, now: dt.datetime | None = None) -> tuple[str, str]:
    """A new browser session: ``(cookie value, CSRF token)``."""
    now = now or utcnow()
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_hash=_digest(sid),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + dt.timedelta(hours=SESSION_HOURS),
        )
    )
    return sid, csrf


def session_user(
    session: Session, sid: str | None, now: dt.datetime | None = None
) -> tuple[UserAccount, WebSession] | None:
    """The user of a live session cookie, or None: ended, past its :data:`SESSION_HOURS`, or idle
    longer than :data:`IDLE_MINUTES` (an unattended counter screen signs itself out)."""
    if not sid:
        return None
    now = now or utcnow()
    row = session.get(WebSession, _digest(sid))
    if row is None or row.ended_at is not None or as_utc(row.expires_at) <= now:
        return None
    seen = as_utc(row.last_seen_at or row.created_at)
    if now - seen > dt.timedelta(minutes=IDLE_MINUTES):
        row.ended_at = now
        return None
    row.last_seen_at = now
    user = session.get(UserAccount, row.user_id)
    return (user, row) if user is not None and user.active else None


def end_session(session: Session, sid: str | None, now: dt.datetime | None = None) -> None:
    if sid:
        row = session.get(WebSession, _digest(sid))
        if row is not None and row.ended_at is None:
            row.ended_at = now or utcnow()


def issue_token(
    session: Session,
    actor: Actor,
    username: str,
    name: str,
    days: int | None = 365,
    now: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A bearer token for ``username`` (by whoever manages the account); the secret is returned
    once, never stored."""
    user = _managed_user(session, actor, username)
    label = str(name or "").strip()
    if not (1 <= len(label) <= 64):
        raise InputError(
            "name", name, "应为 1–64 个字符的令牌名称", "expected a token name of 1-64 characters"
        )
    if days is not None and not (1 <= days <= 3660):
        raise InputError("days", days, "有效天数应在 1–3660", "expected 1-3660 days")
    now = now or utcnow()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=_digest(secret),
        name=label,
        created_at=now,
        expires_at=now + dt.timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.create", "user", user.id, ("token",))
    return row, secret


def token_user(session: Session, token: str | None, now: dt.datetime | None = None) -> UserAccount | None:
    """The user a bearer token acts for, or None when it is unknown, revoked or expired."""
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= (now or utcnow()):
        return None
    user = session.get(UserAccount, row.user_id)
    return user if user is not None and user.active else None


def revoke_token(session: Session, actor: Actor, token_id: int, now: dt.datetime | None = None) -> str:
    """Revoke a token; returns its digest (the service drops it from its cache). Anyone who
    manages accounts may revoke any token: stopping a leaked credential must never wait."""
    _check_manager(actor)
    row = session.get(ApiToken, token_id)
    if row is None:
        raise InputError("token_id", token_id, "没有此令牌", "no such token")
    row.revoked_at = row.revoked_at or now or utcnow()
    audit.record(session, actor, "token.revoke", "user", row.user_id, ("token",))
    return row.token_hash


def list_users(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The accounts ``actor`` manages (the officers' for the security administrator, the others'
    for the system administrator), with their tokens; no hash, no secret."""
    _check_manager(actor)
    officers = allowed(actor, "officer.manage")
    tokens: dict[int, list[dict[str, Any]]] = {}
    for t in session.scalars(select(ApiToken).order_by(ApiToken.id)):
        tokens.setdefault(t.user_id, []).append(
            {
                "id": t.id,
                "name": t.name,
                "created_at": t.created_at.isoformat(timespec="minutes"),
                "expires_at": t.expires_at.isoformat(timespec="minutes") if t.expires_at else None,
                "revoked": t.revoked_at is not None,
            }
        )
    return [
        {
            "id": u.id,
            "username": u.username,
            "role": u.role,
            "regions": u.regions,
            "person_id": u.person_id,
            "employer_id": u.employer_id,
            "display_name": u.display_name,
            "active": u.active,
            "tokens": tokens.get(u.id, []),
        }
        for u in session.scalars(select(UserAccount).order_by(UserAccount.id))
        if (u.role in OFFICER_ROLES) == officers
    ]


def set_active(session: Session, actor: Actor, username: str, active: bool) -> UserAccount:
    """Disable (or enable again) an account, by whoever manages it; never one's own."""
    user = _managed_user(session, actor, username)
    user.active = bool(active)
    audit.record(session, actor, "user.enable" if active else "user.disable", "user", user.id, ("active",))
    return user


def credential_digests(session: Session, username: str) -> list[str]:
    """The digests of a user's tokens and sessions (the service drops them from its cache when
    the account is disabled)."""
    user = session.scalar(select(UserAccount).where(UserAccount.username == username))
    if user is None:
        return []
    return [
        *session.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user.id)),
        *session.scalars(select(WebSession.id_hash).where(WebSession.user_id == user.id)),
    ]


def enroll_totp(session: Session, actor: Actor, username: str) -> tuple[str, str]:
    """Give an account a new one-time-code secret (by whoever manages it): ``(secret, otpauth
    URI)``, shown once; the previous secret stops working."""
    user = _managed_user(session, actor, username)
    secret = totp.new_secret()
    user.totp_secret, user.totp_last_step = secret, None
    audit.record(session, actor, "user.totp", "user", user.id, ("totp_secret",))
    return secret, totp.provisioning_uri(user.username, secret)
