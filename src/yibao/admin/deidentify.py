"""De-identified extracts for analysts and the policy lab (PIPL Art. 4, 51 (3), 73 (3)–(4)).

:func:`lab_extract` turns a region's members at a year's end into the policy lab's extract layout
(:mod:`yibao.sim.extract`) with no direct identifier: no ID number, name, phone, employer or register
number; a keyed pseudonym (HMAC-SM3 of the ID number with a key kept outside the database) so the
same person links across extracts made with the same key and not otherwise; the birth date
coarsened to the year (1 July); wages to the nearest 1,000 yuan, pensions to 100. Every group of
quasi-identifiers (5-year age band at the year's end, sex, status) holds at least ``k`` people
(default 5): rows of smaller groups are left out and counted. The extract is audited.

New-form workers (新就业形态) are written as ``new_form_in_service``: they pay alone, and the lab
counts them among flexible workers in service, as the published statistics do, while knowing them
apart for the new-form rule.

What the register does not hold is an assumption, labelled in the manifest: a woman's statutory
retirement age before the 2025 rise is taken as 50 (worker), since the register does not record
cadre posts (55).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from yibao.admin import audit
from yibao.admin.uow import Actor
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Person
from yibao.errors import InputError

__all__ = ["MIN_KEY_BYTES", "ExtractReport", "lab_extract", "load_key", "pseudonym", "write_extract"]

MIN_KEY_BYTES = 32
ASSUMPTIONS = {"original_age_female": "50: the register does not record cadre posts (55)"}


def load_key(path: str | Path | None, env_value: str | None) -> bytes:
    """The pseudonym key: a file's bytes, or a hex string from the environment; ≥ 32 bytes."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputError("--key-file", str(p), "文件不存在", "no such file")
        key = p.read_bytes().strip()
    elif env_value:
        try:
            key = bytes.fromhex(env_value.strip())
        except ValueError:
            raise InputError("YIBAO_PSEUDONYM_KEY", "…", "应为十六进制", "expected hex") from None
    else:
        raise InputError(
            "--key-file",
            None,
            "需要假名密钥（--key-file 或 YIBAO_PSEUDONYM_KEY）",
            "a pseudonym key is needed (--key-file or YIBAO_PSEUDONYM_KEY)",
        )
    if len(key) < MIN_KEY_BYTES:
        raise InputError(
            "key", f"{len(key)} bytes", f"至少 {MIN_KEY_BYTES} 字节", f"at least {MIN_KEY_BYTES} bytes"
        )
    return key


def pseudonym(key: bytes, id_number: str) -> str:
    """HMAC-SM3 of the canonical ID number, 16 bytes in hex."""
    return hmac.new(key, id_number.encode(), "sm3").hexdigest()[:32]


@dataclass(frozen=True)
class ExtractReport:
    region: str
    year: int
    k: int
    rows: int
    suppressed: int
    groups: int
    key_id: str  # tells extracts made with the same key apart from others, reveals nothing of it
    assumptions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _round_fen(fen: int, unit: int) -> int:
    """``fen`` rounded half up to a multiple of ``unit`` fen."""
    return (fen + unit // 2) // unit * unit


# New-form workers pay alone, as flexible workers do (rules/contribution.py): the lab counts them
# among flexible workers in service (as the statistics do) and knows them apart (yibao.sim.extract).
_STATUS = {
    "in_service": "unit_in_service",
    "new_form": "new_form_in_service",
    "flexible": "flexible_in_service",
}


def lab_extract(
    session: Session, actor: Actor, region: str, year: int, key: bytes, k: int = 5
) -> tuple[pl.DataFrame, ExtractReport]:
    """The region's members on 31 December of ``year`` as a de-identified lab extract (module
    docstring); ``actor`` must be allowed the region."""
    actor.check_region(region)
    if not (2 <= k <= 1000):
        raise InputError("k", k, "应在 2–1000", "must be 2-1000")
    december = year * 100 + 12
    members = session.execute(
        select(
            Person.id_number,
            Person.sex,
            Person.birth_date,
            Enrollment.category,
            Enrollment.was_flexible,
            Enrollment.pension_fen,
            Person.id,
        )
        .join(Enrollment, Enrollment.person_id == Person.id)
        .where(
            Enrollment.region_code == region,
            Enrollment.scheme == "employee",
            Enrollment.status != "suspended",
            Enrollment.start_month <= december,
            or_(Enrollment.end_month.is_(None), Enrollment.end_month >= december),
            or_(Person.death_date.is_(None), Person.death_date > dt.date(year, 12, 31)),
        )
        .order_by(Person.id)
    ).all()
    if not members:
        raise InputError("region", region, f"{year} 年末没有参保人员", f"no members at the end of {year}")
    ids = [m.id for m in members]
    wages = dict(
        session.execute(
            select(ContributionMonth.person_id, func.sum(ContributionMonth.base_fen))
            .where(
                ContributionMonth.person_id.in_(ids),
                ContributionMonth.region_code == region,
                and_(ContributionMonth.month >= year * 100 + 1, ContributionMonth.month <= december),
            )
            .group_by(ContributionMonth.person_id)
        ).all()
    )
    paid = dict(
        session.execute(
            select(ContributionMonth.person_id, func.count())
            .where(
                ContributionMonth.person_id.in_(ids),
                ContributionMonth.status == "paid",
                ContributionMonth.month <= december,
            )
            .group_by(ContributionMonth.person_id)
        ).all()
    )
    rows = []
    for m in members:
        retired = m.category == "retiree"
        status = (
            ("flexible_retired" if m.was_flexible else "unit_retired") if retired else _STATUS.get(m.category)
        )
        if status is None:
            continue  # resident scheme members are not in the employee lab
        age = year - m.birth_date.year
        rows.append(
            {
                "pseudonym": pseudonym(key, m.id_number),
                "status": status,
                "sex": m.sex,
                "birth_date": dt.date(m.birth_date.year, 7, 1),
                "original_age": 60 if m.sex == "male" else 50,
                # whole yuan, rounded in integer fen (half up): wages to 1,000, pensions to 100
                "wage_yuan": 0 if retired else _round_fen(int(wages.get(m.id, 0) or 0), 100_000) // 100,
                "pension_yuan": _round_fen(int(m.pension_fen or 0) * 12, 10_000) // 100 if retired else 0,
                "months_paid": 0 if retired else int(paid.get(m.id, 0)),
                "weight": 1.0,
                "_band": f"{age // 5 * 5}-{age // 5 * 5 + 4}",
            }
        )
    # the lab's layout carries yuan as floating point (yibao.sim.extract)
    frame = pl.DataFrame(rows).with_columns(pl.col("wage_yuan", "pension_yuan", "weight").cast(pl.Float64))
    sizes = frame.group_by("_band", "sex", "status").len()
    kept = frame.join(sizes, on=["_band", "sex", "status"]).filter(pl.col("len") >= k)
    groups = int(sizes.filter(pl.col("len") >= k).height)
    out = kept.drop("_band", "len").sort("pseudonym")
    key_id = hashlib.sha256(hmac.new(key, b"yibao key id", "sm3").digest()).hexdigest()[:12]
    report = ExtractReport(
        region, year, k, out.height, frame.height - out.height, groups, key_id, ASSUMPTIONS
    )
    audit.record(
        session, actor, "extract.deidentified", "region", region, ("pseudonym", "birth_year", "wage"), region
    )
    return out, report


def write_extract(frame: pl.DataFrame, report: ExtractReport, out: str | Path) -> Path:
    """The Parquet file and its manifest (``<file>.json``) beside it."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    path.with_suffix(path.suffix + ".json").write_text(
        json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return path
