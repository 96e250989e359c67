"""Key rotation for the encrypted personal fields (yibao.db.crypto): status, rotate, retire.

等保 2.0 level 3 (GB/T 22239-2019 8.1.4.8) and GM/T 0054-2018 (密钥管理: 密钥更新) expect data keys
to be replaced on a schedule and whenever one may have leaked. :func:`rotate` adds a key, makes it
primary and writes the keyring file *first* (atomically), then re-encrypts every stored value in
batches of ``batch`` rows, one transaction each. Every key stays in the keyring until
:func:`retire` finds no row using it, so a rotation killed at any point leaves every value
readable; running :func:`rotate` again finds the unfinished rows and resumes under the same new
key instead of making another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, TableClause, bindparam, column, func, select, table, update
from sqlalchemy.types import Text

import yibao.db.models  # noqa: F401  (registers every table on Base.metadata)
from yibao.db.base import Base
from yibao.db.crypto import Encrypted, Keyring, KeyringError, key_file, keyring, reset_keyring, write_keyring

__all__ = ["EncryptedColumn", "KeyUse", "encrypted_columns", "retire", "rotate", "status"]


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    key: str  # the table's primary-key column
    context: str  # the associated data the value was sealed with

    def raw(self) -> TableClause:
        """The table seen as plain text, so the stored ciphertext is read and written as is."""
        return table(self.table, column(self.key), column(self.column, Text))


@dataclass(frozen=True)
class KeyUse:
    table: str
    column: str
    key_id: str
    rows: int


def encrypted_columns() -> list[EncryptedColumn]:
    """Every column of every model stored through :class:`Encrypted`."""
    found = []
    for t in Base.metadata.sorted_tables:
        for c in t.columns:
            if isinstance(c.type, Encrypted):
                (pk,) = t.primary_key.columns
                found.append(EncryptedColumn(t.name, c.name, pk.name, c.type.context))
    return found


def status(engine: Engine) -> list[KeyUse]:
    """How many stored values each key of the keyring encrypts, column by column (counted in the
    database by the ciphertext's key-id prefix); values under a key the keyring lacks count as
    ``?``."""
    ring = keyring()
    out = []
    with engine.connect() as conn:
        for ec in encrypted_columns():
            col = ec.raw().c[ec.column]
            total = conn.scalar(select(func.count()).where(col.is_not(None))) or 0
            counts = {
                kid: conn.scalar(select(func.count()).where(col.startswith(f"{kid}$"))) or 0
                for kid in sorted(ring.keys)
            }
            counts["?"] = total - sum(counts.values())
            out += [KeyUse(ec.table, ec.column, k, n) for k, n in counts.items() if n]
    return out


def _file_ring() -> tuple[Keyring, Path]:
    ring = keyring()
    if ring.source == "YIBAO_DATA_KEYS":
        raise KeyringError(
            "密钥环来自环境变量 YIBAO_DATA_KEYS：轮换要写入新的密钥环，请改用 YIBAO_KEY_FILE 指向的文件，"
            "轮换后再把文件内容交给密钥管理系统",
            "the keyring comes from YIBAO_DATA_KEYS: rotation writes a new keyring, so use a file "
            "(YIBAO_KEY_FILE) and hand its new content to the secret manager afterwards",
        )
    return ring, Path(ring.source or key_file())


def rotate(
    engine: Engine,
    algorithm: str = "sm4-gcm",
    batch: int = 1000,
    on_batch: Callable[[EncryptedColumn, int], None] | None = None,
) -> tuple[str, int]:
    """Re-encrypt every stored value under a new primary key; returns (key id, values rewritten).

    If values under an older key remain while the primary key is already the newest one (a
    rotation that was interrupted), no new key is made: the run resumes.
    """
    ring, path = _file_ring()
    if not any(u.key_id != ring.primary for u in status(engine)):
        ring = ring.with_new_primary(algorithm)
        write_keyring(ring, path)
        reset_keyring(ring)
    done = 0
    for ec in encrypted_columns():
        t = ec.raw()
        key, col = t.c[ec.key], t.c[ec.column]
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    select(key, col)
                    .where(col.is_not(None), ~col.startswith(f"{ring.primary}$"))
                    .order_by(key)
                    .limit(batch)
                ).all()
                if rows:  # each row only if it still holds the value read (a concurrent write wins)
                    conn.execute(
                        update(t)
                        .where(key == bindparam("pk"), col == bindparam("old"))
                        .values({ec.column: bindparam("new")}),
                        [
                            {"pk": pk, "old": v, "new": ring.encrypt(ring.decrypt(v, ec.context), ec.context)}
                            for pk, v in rows
                        ],
                    )
            done += len(rows)
            if on_batch is not None:
                on_batch(ec, len(rows))
            if len(rows) < batch:
                break
    return ring.primary, done


def retire(engine: Engine) -> list[str]:
    """Drop from the keyring every key no stored value uses any more; returns their ids."""
    ring, path = _file_ring()
    used = {u.key_id for u in status(engine)} | {ring.primary}
    unused = sorted(set(ring.keys) - used)
    if unused:
        kept = Keyring(
            {k: v for k, v in ring.keys.items() if k in used},
            ring.primary,
            ring.index_key,
            ring.source,
            {k: v for k, v in ring.created.items() if k in used},
        )
        write_keyring(kept, path)
        reset_keyring(kept)
    return unused
