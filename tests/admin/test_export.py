"""Register export: the documented Parquet layout, streamed, audited, read back and checked."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yibao.admin.audit import events_for
from yibao.admin.export import LAYOUT, export_register, read_table
from yibao.admin.uow import Actor, run
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, EmploymentSpell, Person
from yibao.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
OFFICER = Actor("data-officer", "analyst", purpose="2024Q1 精准参保比对 / precise-enrollment matching")


def _fill(engine: Engine) -> None:
    def step(s: Session) -> None:
        e = Employer(uscc="91110000100000000X", name="示例单位", region_code="110000")
        e2 = Employer(uscc="91310000100000000Y", name="上海单位", region_code="310000")
        s.add_all([e, e2])
        s.flush()
        for i in range(7):
            p = Person(id_kind="resident", id_number=f"1101051990010100{i:02d}", name=f"人{i}", sex="male",
                       birth_date=dt.date(1990, 1, 1), hukou_region="110105")
            s.add(p)
            s.flush()
            region, emp = ("110000", e) if i < 5 else ("310000", e2)
            s.add(EmploymentSpell(person_id=p.id, employer_id=emp.id, start_date=dt.date(2024, 1, 1)))
            en = Enrollment(person_id=p.id, region_code=region, scheme="employee", category="in_service",
                            employer_id=emp.id, start_month=202401)
            s.add(en)
            s.flush()
            for m in (202401, 202402):
                s.add(ContributionMonth(
                    enrollment_id=en.id, person_id=p.id, region_code=region, month=m, category="in_service",
                    payer_kind="employer", payer_id=emp.id, wage_fen=800_000, base_fen=800_000,
                    employer_basic_fen=1, employer_maternity_fen=0, employer_large_amount_fen=0,
                    employer_local_supplement_fen=0, individual_basic_fen=0, fixed_premium_fen=0,
                    to_pooled_fund_fen=1, to_individual_account_fen=0, to_maternity_fund_fen=0,
                    to_large_amount_fund_fen=0, to_local_supplement_fund_fen=0, total_fen=1,
                    due_date=dt.date(2024, m % 100, 28)))
    run(engine, step)


def test_export_writes_the_documented_layout(engine: Engine, tmp_path: Path) -> None:
    _fill(engine)
    res = export_register(engine, OFFICER, tmp_path / "out", batch_rows=3)
    assert res.rows == {"persons": 7, "employers": 2, "employment_spells": 7, "enrollments": 7,
                        "contribution_months": 14}
    persons = read_table(tmp_path / "out", "persons")
    assert persons.column("id_number").to_pylist()[0] == "110105199001010000"
    months = read_table(tmp_path / "out", "contribution_months")
    assert months.schema.field("wage_fen").type == pa.int64()
    assert sorted(set(months.column("month").to_pylist())) == [202401, 202402]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"]["persons"] == 7
    with Session(engine) as s:
        ev = events_for(s, "register", "*")
        assert len(ev) == 1 and ev[0].purpose == OFFICER.purpose and ev[0].id == manifest["audit_event"]


def test_export_by_region(engine: Engine, tmp_path: Path) -> None:
    _fill(engine)
    res = export_register(engine, OFFICER, tmp_path / "sh", region="310000")
    assert res.rows == {"persons": 2, "employers": 1, "employment_spells": 2, "enrollments": 2,
                        "contribution_months": 4}


def test_export_needs_a_purpose(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        export_register(engine, Actor("x"), tmp_path / "o")
    assert e.value.field == "purpose"
    assert not (tmp_path / "o").exists()


def test_read_table_names_a_missing_or_mistyped_column(tmp_path: Path) -> None:
    pq.write_table(pa.table({"person_id": pa.array([1], pa.int64())}), tmp_path / "persons.parquet")
    with pytest.raises(InputError) as e:
        read_table(tmp_path, "persons")
    assert e.value.field == "persons.id_number"
    cols = {n: pa.array([None], ty) for n, ty, _ in LAYOUT["persons"]}
    cols["birth_date"] = pa.array(["1990-01-01"])
    pq.write_table(pa.table(cols), tmp_path / "persons.parquet")
    with pytest.raises(InputError) as e:
        read_table(tmp_path, "persons")
    assert e.value.field == "persons.birth_date" and "date32" in e.value.en


def test_layout_doc_lists_every_column() -> None:
    doc = (ROOT / "docs" / "register-export.md").read_text(encoding="utf-8")
    for table, cols in LAYOUT.items():
        assert f"`{table}.parquet`" in doc
        for name, typ, _ in cols:
            assert f"| `{name}` | {typ} |" in doc, (table, name)
