"""audit_event and audit_seal are append-only: UPDATE and DELETE are refused by triggers

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

The application only ever inserts audit rows (yibao.admin.audit, yibao.admin.audit_chain). A
trigger refuses any change or deletion, whoever asks: removing it takes a schema change, and
``yibao audit verify`` then names the first row that no longer matches its seal (GB/T 22239-2019
level 3, 8.1.4.3). TRUNCATE (used by tests between cases) does not fire row triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("audit_event", "audit_seal")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION yibao_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'yibao: % is append-only (audit rows are never changed or deleted)', "
            "TG_TABLE_NAME; END $$"
        )
        for t in TABLES:
            op.execute(
                f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                "FOR EACH ROW EXECUTE FUNCTION yibao_append_only()"
            )
    else:
        for t in TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {t}_no_{verb.lower()} BEFORE {verb} ON {t} BEGIN "
                    f"SELECT RAISE(ABORT, 'yibao: {t} is append-only (audit rows are never changed or deleted)'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for t in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
        op.execute("DROP FUNCTION IF EXISTS yibao_append_only()")
    else:
        for t in TABLES:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {t}_no_{verb}")
