"""Register export in a documented Parquet layout (docs/register-export.md), read by precise enrollment.

Five tables — persons, employers, employment_spells, enrollments, contribution_months — each written
as one Parquet file under the output folder, plus ``manifest.json`` (layout version, region filter,
as-of date, row counts, the export's audit id). Rows are streamed from the database in batches
(server-side cursor on PostgreSQL), so memory stays bounded whatever the register's size. The
export contains full ID numbers (matching needs them): it is recorded in the audit log with its
purpose, and a later data-protection layer requires approval for it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin import approvals, audit
from yibao.admin.uow import Actor
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, EmploymentSpell, Person
from yibao.errors import InputError

__all__ = ["LAYOUT", "LAYOUT_VERSION", "ExportResult", "export_register", "read_table"]

LAYOUT_VERSION = "1"

I64, I32, STR, DATE, BOOL = pa.int64(), pa.int32(), pa.string(), pa.date32(), pa.bool_()

#: table → ordered (column, arrow type, description); docs/register-export.md is checked against it.
LAYOUT: dict[str, list[tuple[str, pa.DataType, str]]] = {
    "persons": [
        ("person_id", I64, "register key"),
        ("id_number", STR, "canonical ID: 18-digit resident ID (legacy 15-digit converted) or "
                           "foreign permanent residence ID"),
        ("id_kind", STR, "resident / resident_legacy15 / foreign_permanent_2017 / foreign_permanent_2023"),
        ("name", STR, "name as registered (hanzi)"),
        ("sex", STR, "male / female"),
        ("birth_date", DATE, "birth date"),
        ("hukou_region", STR, "GB/T 2260 code of the hukou, or null"),
        ("residence_region", STR, "GB/T 2260 code of the residence, or null"),
        ("death_date", DATE, "date of death if known, or null"),
    ],
    "employers": [
        ("employer_id", I64, "register key"),
        ("uscc", STR, "unified social credit code (GB 32100-2015)"),
        ("name", STR, "registered name"),
        ("region_code", STR, "pooling region where the unit is insured"),
        ("status", STR, "active / closed"),
        ("closed_on", DATE, "closing date, or null"),
        ("hardship", BOOL, "bankrupt / hardship enterprise (seed 003)"),
    ],
    "employment_spells": [
        ("person_id", I64, "persons.person_id"),
        ("employer_id", I64, "employers.employer_id"),
        ("start_date", DATE, "first day employed"),
        ("end_date", DATE, "last day employed, or null while employed"),
    ],
    "enrollments": [
        ("enrollment_id", I64, "register key"),
        ("person_id", I64, "persons.person_id"),
        ("region_code", STR, "pooling region"),
        ("scheme", STR, "employee / resident"),
        ("category", STR, "in_service / flexible / new_form / retiree"),
        ("employer_id", I64, "employers.employer_id for unit employees, else null"),
        ("start_month", I32, "first month, YYYYMM"),
        ("end_month", I32, "last month (inclusive), YYYYMM, or null while open"),
        ("status", STR, "active / ended / suspended"),
    ],
    "contribution_months": [
        ("person_id", I64, "persons.person_id"),
        ("enrollment_id", I64, "enrollments.enrollment_id"),
        ("region_code", STR, "pooling region"),
        ("month", I32, "contribution month, YYYYMM"),
        ("category", STR, "in_service / flexible / new_form / retiree"),
        ("payer_kind", STR, "employer / person"),
        ("payer_id", I64, "employers.employer_id or persons.person_id"),
        ("wage_fen", I64, "declared monthly wage, fen"),
        ("base_fen", I64, "contribution base after rounding and clamping, fen"),
        ("total_fen", I64, "everything assessed for the month, fen"),
        ("paid_fen", I64, "paid so far, fen"),
        ("status", STR, "due / partial / paid / written_off"),
        ("due_date", DATE, "date the month falls due"),
        ("paid_on", DATE, "date it became fully paid, or null"),
    ],
}

def _persons(region: str | None) -> Any:
    q = select(Person.id, Person.id_number, Person.id_kind, Person.name, Person.sex, Person.birth_date,
               Person.hukou_region, Person.residence_region, Person.death_date).order_by(Person.id)
    if region is not None:
        q = q.where(Person.id.in_(select(Enrollment.person_id).where(Enrollment.region_code == region)))
    return q


def _employers(region: str | None) -> Any:
    q = select(Employer.id, Employer.uscc, Employer.name, Employer.region_code, Employer.status,
               Employer.closed_on, Employer.hardship).order_by(Employer.id)
    return q if region is None else q.where(Employer.region_code == region)


def _spells(region: str | None) -> Any:
    q = select(EmploymentSpell.person_id, EmploymentSpell.employer_id, EmploymentSpell.start_date,
               EmploymentSpell.end_date).order_by(EmploymentSpell.id)
    if region is not None:
        units = select(Employer.id).where(Employer.region_code == region)
        q = q.where(EmploymentSpell.employer_id.in_(units))
    return q


def _enrollments(region: str | None) -> Any:
    q = select(Enrollment.id, Enrollment.person_id, Enrollment.region_code, Enrollment.scheme,
               Enrollment.category, Enrollment.employer_id, Enrollment.start_month, Enrollment.end_month,
               Enrollment.status).order_by(Enrollment.id)
    return q if region is None else q.where(Enrollment.region_code == region)


def _months(region: str | None) -> Any:
    c = ContributionMonth
    q = select(c.person_id, c.enrollment_id, c.region_code, c.month, c.category, c.payer_kind, c.payer_id,
               c.wage_fen, c.base_fen, c.total_fen, c.paid_fen, c.status, c.due_date,
               c.paid_on).order_by(c.id)
    return q if region is None else q.where(c.region_code == region)


_QUERIES: dict[str, Callable[[str | None], Any]] = {
    "persons": _persons, "employers": _employers, "employment_spells": _spells,
    "enrollments": _enrollments, "contribution_months": _months,
}


def schema(table: str) -> pa.Schema:
    return pa.schema([pa.field(name, typ) for name, typ, _ in LAYOUT[table]])


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    rows: dict[str, int]
    manifest: dict[str, Any]


def _batches(session: Session, query: Any, size: int) -> Iterator[list[Any]]:
    result = session.execute(query.execution_options(yield_per=size))
    for part in result.partitions(size):
        yield list(part)


def export_register(engine: Engine, actor: Actor, out: Path, region: str | None = None,
                    as_of: dt.date | None = None, batch_rows: int = 100_000,
                    progress: Callable[[str, int], None] | None = None) -> ExportResult:
    """Write the five tables to ``out`` (created); see the module docstring and the layout doc."""
    if not actor.purpose:
        raise InputError("purpose", actor.purpose, "导出含完整身份证号，须说明用途",
                         "the export holds full ID numbers: state its purpose")
    with Session(engine) as session, session.begin():
        people = int(session.scalar(select(func.count()).select_from(_persons(region).subquery())) or 0)
        if people > approvals.export_review_rows(session, region):  # four-eyes above the threshold
            command = {"table": "register", "region": region, "purpose": actor.purpose}
            approvals.check(session, actor, approvals.Command(
                "export", region, command, "register", region or "*",
                f"导出 {people} 人的完整身份信息：{actor.purpose}",
                f"export full identities of {people} people: {actor.purpose}"))
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with Session(engine) as session:
        for table, make_query in _QUERIES.items():
            sch = schema(table)
            path = out / f"{table}.parquet"
            tmp = path.with_suffix(".parquet.part")
            n = 0
            with pq.ParquetWriter(tmp, sch, compression="zstd") as writer:
                for batch in _batches(session, make_query(region), batch_rows):
                    cols: list[Any] = list(zip(*batch, strict=True)) if batch else [[] for _ in sch]
                    writer.write_table(pa.table([pa.array(c, type=f.type) for c, f in
                                                 zip(cols, sch, strict=True)], schema=sch))
                    n += len(batch)
                    if progress:
                        progress(table, n)
            tmp.replace(path)  # a killed export never leaves a truncated file under the real name
            rows[table] = n
    with Session(engine) as session, session.begin():
        ev = audit.record(session, actor, "register.export", "register", region or "*",
                          fields=["id_number", "name", "birth_date", "hukou_region"], region=region)
        session.flush()
        audit_id = ev.id
    manifest = {"layout_version": LAYOUT_VERSION, "region": region,
                "as_of": (as_of or dt.date.today()).isoformat(),
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "rows": rows, "audit_event": audit_id,
                "tables": {t: [{"name": n, "type": str(ty), "description": d} for n, ty, d in cols]
                           for t, cols in LAYOUT.items()}}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return ExportResult(out, rows, manifest)


def read_table(folder: Path, table: str) -> pa.Table:
    """Read one exported table, checking it has the documented columns (a bureau's own system may
    produce the same layout; a missing or mistyped column is an InputError naming it)."""
    if table not in LAYOUT:
        raise InputError("table", table, "应为 " + "、".join(LAYOUT), "expected one of " + ", ".join(LAYOUT))
    path = folder / f"{table}.parquet"
    if not path.exists():
        raise InputError("path", str(path), "找不到该表的 Parquet 文件", "no Parquet file for this table")
    got = pq.read_table(path)
    for name, typ, _ in LAYOUT[table]:
        if name not in got.schema.names:
            raise InputError(f"{table}.{name}", "missing", f"缺少列 {name}（{typ}）",
                             f"column {name} ({typ}) is missing")
        if not got.schema.field(name).type.equals(typ):
            raise InputError(f"{table}.{name}", str(got.schema.field(name).type), f"类型应为 {typ}",
                             f"expected type {typ}")
    return got
