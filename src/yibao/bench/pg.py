"""What the PostgreSQL benchmarks share: a fresh database per suite and bulk ``COPY`` loading."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from yibao.db.crypto import blind_index, seal
from yibao.errors import InputError

__all__ = ["PERSON_COLUMNS", "bench_urls", "copy_lines", "person_line", "recreate"]


def bench_urls(url: str, database: str) -> tuple[str, str]:
    """(admin URL on the server's ``postgres`` database, URL of the bench database ``database``)."""
    u = make_url(url if "+" in url.split("://", 1)[0] else url.replace("postgresql://", "postgresql+psycopg://"))
    if u.get_backend_name() != "postgresql":
        raise InputError("url", url, "基准测试需要 PostgreSQL 服务器的 URL",
                         "the benchmark needs the URL of a PostgreSQL server")
    return (u.set(database="postgres").render_as_string(hide_password=False),
            u.set(database=database).render_as_string(hide_password=False))


def recreate(admin_url: str, database: str, drop_only: bool = False) -> None:
    """Drop ``database`` (closing its sessions) and, unless ``drop_only``, create it empty."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            if not drop_only:
                c.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()


PERSON_COLUMNS = ["id", "id_kind", "id_number", "id_number_bidx", "name", "name_bidx"]


def person_line(pid: int, number: str, name: str) -> str:
    """The first columns (:data:`PERSON_COLUMNS`) of a person's COPY line, the ID number and name
    encrypted and indexed as :class:`yibao.db.models.register.Person` stores them."""
    return (f"{pid}\tresident\t{seal(number, 'person.id_number')}\t{blind_index(number)}\t"
            f"{seal(name, 'person.name')}\t{blind_index(name)}")


def copy_lines(engine: Engine, table: str, columns: list[str], lines: Iterable[str]) -> None:
    """COPY text rows (tab-separated, already formatted) into ``table``, in 100,000-line pieces."""
    raw: Any = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            buf = io.StringIO()
            for i, line in enumerate(lines, 1):
                buf.write(line)
                if i % 100_000 == 0:
                    cp.write(buf.getvalue())
                    buf = io.StringIO()
            cp.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()
