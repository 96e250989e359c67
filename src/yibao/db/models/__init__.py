"""Every model, imported so that ``Base.metadata`` holds the whole schema (Alembic reads it)."""

from yibao.db.models import (
    approvals,
    audit,
    auth,
    cases,
    claims,
    contribution,
    enrollment,
    gateway,
    ledger,
    ops,
    register,
)

__all__ = [
    "approvals",
    "audit",
    "auth",
    "cases",
    "claims",
    "contribution",
    "enrollment",
    "gateway",
    "ledger",
    "ops",
    "register",
]
