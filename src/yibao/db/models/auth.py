"""Who may use the service: user accounts, machine tokens, browser sessions, login attempts.

Secrets are never stored: passwords as argon2id hashes, tokens and session ids as SHA-256 digests
of the random value the holder keeps (a database dump gives no way in).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, utcnow


class UserAccount(Base):
    """A person who signs in: staff (operator, auditor, analyst, admin), an employer's clerk or an
    insured person. ``regions`` limits staff to pooling regions (comma-separated codes; NULL = all,
    only for analyst and admin); ``person_id`` ties an insured person's account to their register
    entry, ``employer_id`` an employer clerk's to their unit."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # operator auditor analyst employer insured admin
    regions: Mapped[str | None] = mapped_column(String(256))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"))
    display_name: Mapped[str | None] = mapped_column(String(64))
    # the second factor of admin and auditor accounts (yibao.admin.totp); the last step used
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for a machine (a hospital system, a script) acting as ``user_id``."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class WebSession(Base):
    """A signed-in browser: the cookie holds the id, the row its digest and the CSRF token."""

    __tablename__ = "web_session"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    last_seen_at: Mapped[dt.datetime | None] = mapped_column()  # idle timeout
    ended_at: Mapped[dt.datetime | None] = mapped_column()


class LoginAttempt(Base):
    """One sign-in attempt, for rate limiting by user name and by client address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_client_at", "client", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
