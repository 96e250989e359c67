"""`yibao person | employer | enroll` through the command line, on SQLite and PostgreSQL (issue 4 "CLI").

What a clerk sees: masked IDs and names in every list, bilingual errors with exit code 2 and no
traceback, --json for scripts, --key replays. Examples: GB 11643's 11010519491231002X and its
legacy 15-digit form (DOMAIN.md §8.x); the USCC 91110000600037341L (GB 32100); Beijing's
flexible-worker hukou rule (seed 001).
"""

from __future__ import annotations

import json

import pytest
from click.testing import Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import yibao.cli as cli
from yibao.db.models.audit import AuditEvent
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Person

if not any(g.name == "person" for g in cli.app.registered_groups):
    cli._register()

runner = CliRunner()
FULL = "11010519491231002X"
MASKED = "110105********002X"
USCC = "91110000600037341L"


@pytest.fixture
def db(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def yb(db: str, *args: str) -> Result:
    res = runner.invoke(cli.app, [*args, "--db", db], env={"COLUMNS": "200", "YIBAO_USER": "clerk7"})
    assert "Traceback" not in res.output
    return res


def as_json(res: Result) -> object:
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def n_rows(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_person_add_prints_masked_values_and_json(engine: Engine, db: str) -> None:
    res = yb(db, "person", "add", "--id", FULL, "--name", "王芳", "--hukou", "110105")
    assert res.exit_code == 0 and MASKED in res.output and "王*" in res.output and FULL not in res.output
    doc = as_json(yb(db, "person", "add", "--id", "110105198001010016", "--name", "王小明", "--json"))
    assert isinstance(doc, dict) and doc["id_number"] == "110105********0016" and doc["name"] == "王**"


def test_person_add_bad_checksum_is_a_bilingual_error_and_writes_nothing(engine: Engine, db: str) -> None:
    res = yb(db, "person", "add", "--id", "110105194912310021", "--name", "王芳")
    assert res.exit_code == 2
    assert "字段 id_number" in res.output and "校验码应为 X，实为 1" in res.output
    assert "field id_number" in res.output and "check character should be X, found 1" in res.output
    assert n_rows(engine, Person) == 0


def test_legacy_15_digit_duplicate_and_key_replay(engine: Engine, db: str) -> None:
    first = as_json(yb(db, "person", "add", "--id", FULL, "--name", "王芳", "--json", "--key", "k1"))
    again = as_json(yb(db, "person", "add", "--id", FULL, "--name", "王芳", "--json", "--key", "k1"))
    assert first == again and n_rows(engine, Person) == 1
    res = yb(db, "person", "add", "--id", "110105491231002", "--name", "王芳")
    assert res.exit_code == 2 and "already registered as person 1" in res.output
    assert n_rows(engine, Person) == 1


def test_find_is_masked_and_unmask_needs_a_purpose_that_is_audited(engine: Engine, db: str) -> None:
    yb(db, "person", "add", "--id", FULL, "--name", "王芳")
    res = yb(db, "person", "find", "王芳")
    assert res.exit_code == 0 and MASKED in res.output and FULL not in res.output and "王芳" not in res.output
    res = yb(db, "person", "find", "110105491231002", "--unmask")
    assert res.exit_code == 2 and "purpose" in res.output and FULL not in res.output
    rows = as_json(yb(db, "person", "find", "110105491231002", "--unmask", "--purpose", "complaint 17",
                      "--json"))
    assert isinstance(rows, list) and rows[0]["id_number"] == FULL and rows[0]["birth_date"] == "1949-12-31"
    with Session(engine) as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "person.read")).one()
    assert (ev.actor, ev.purpose, ev.subject_id) == ("cli:clerk7", "complaint 17", "1")


def test_employer_region_by_name_bad_uscc_and_unknown_region(engine: Engine, db: str) -> None:
    doc = as_json(yb(db, "employer", "add", "--uscc", USCC, "--name", "某公司", "--region", "北京", "--json"))
    assert isinstance(doc, dict) and doc["region"] == "110000"
    res = yb(db, "employer", "add", "--uscc", "91110000600037341A", "--name", "x", "--region", "beijing")
    assert res.exit_code == 2 and "field uscc" in res.output and "should be L, found A" in res.output
    res = yb(db, "employer", "add", "--uscc", "91110000600037341L", "--name", "x", "--region", "beijing")
    assert res.exit_code == 2 and "already registered as employer 1" in res.output
    res = yb(db, "employer", "add", "--uscc", USCC, "--name", "x", "--region", "gotham")
    assert res.exit_code == 2 and "field region" in res.output and "110000/beijing/北京" in res.output


def test_hire_enroll_conflict_end_and_lists(engine: Engine, db: str) -> None:
    yb(db, "person", "add", "--id", FULL, "--name", "王芳", "--hukou", "110105")
    yb(db, "employer", "add", "--uscc", USCC, "--name", "某公司", "--region", "beijing")
    hired = yb(db, "employer", "hire", "--employer", USCC, "--person", FULL, "--from", "2024-01-01")
    assert hired.exit_code == 0
    shown = yb(db, "employer", "show", USCC)
    assert shown.exit_code == 0 and MASKED in shown.output and FULL not in shown.output
    doc = as_json(yb(db, "enroll", "--person", FULL, "--region", "110000", "--category", "in_service",
                     "--from", "2024-01", "--employer", USCC, "--json"))
    assert isinstance(doc, dict) and (doc["region"], doc["category"], doc["start_month"]) == (
        "110000", "in_service", "2024-01")
    res = yb(db, "enroll", "--person", "1", "--region", "yinchuan", "--category", "resident",
             "--from", "2024-03")
    assert res.exit_code == 2 and "duplicate enrollment" in res.output and "重复参保" in res.output
    assert n_rows(engine, Enrollment) == 1
    ended = as_json(yb(db, "enroll", "end", "--id", str(doc["id"]), "--to", "2024-02", "--reason", "left_job",
                       "--json"))
    assert isinstance(ended, dict) and ended["end_month"] == "2024-02" and ended["status"] == "ended"
    assert yb(db, "enroll", "--person", "1", "--region", "yinchuan", "--category", "resident",
              "--from", "2024-03").exit_code == 0
    listed = as_json(yb(db, "enroll", "list", "--person", "110105491231002", "--json"))
    assert isinstance(listed, list) and [e["scheme"] for e in listed] == ["employee", "resident"]
    assert as_json(yb(db, "enroll", "conflicts", "--json")) == []
    shown = yb(db, "person", "show", FULL)
    assert shown.exit_code == 0 and MASKED in shown.output and FULL not in shown.output


def test_flexible_hukou_refusal_through_the_cli(engine: Engine, db: str) -> None:
    yb(db, "person", "add", "--id", FULL, "--name", "王芳", "--hukou", "130102")
    res = yb(db, "enroll", "--person", FULL, "--region", "beijing", "--category", "flexible",
             "--from", "2024-01")
    assert res.exit_code == 2 and "enrollment.flexible.hukou_required = local_hukou" in res.output
    assert "seed 001" in res.output and n_rows(engine, Enrollment) == 0
    assert yb(db, "enroll", "--person", FULL, "--region", "yinchuan", "--category", "flexible",
              "--from", "2024-01").exit_code == 0


def test_family_link_through_the_cli(engine: Engine, db: str) -> None:
    yb(db, "person", "add", "--id", FULL, "--name", "王芳")
    yb(db, "person", "add", "--id", "110105198001010016", "--name", "王小明")
    res = yb(db, "person", "link-family", "--holder", FULL, "--relative", "2", "--relation", "near_relative",
             "--from", "2024-01-01")
    assert res.exit_code == 2 and "covers only spouse, child, parent" in res.output
    link = as_json(yb(db, "person", "link-family", "--holder", "1", "--relative", "110105198001010016",
                      "--relation", "child", "--from", "2024-01-01", "--json"))
    assert isinstance(link, dict)
    assert (link["holder_id"], link["relative_id"], link["relation"]) == (1, 2, "child")
    assert yb(db, "person", "unlink-family", "--link", str(link["id"]), "--to", "2024-12-31").exit_code == 0


def test_usage_problems_never_show_a_traceback(engine: Engine, db: str, tmp_path: object) -> None:
    res = yb(db, "enroll", "--person", "1")
    assert res.exit_code == 2 and "--region" in res.output
    res = yb(db, "enroll", "--person", "1", "--region", "beijing", "--category", "flexible",
             "--from", "2024/13")
    assert res.exit_code == 2
    res = yb(db, "employer", "hire", "--employer", USCC, "--person", "1", "--from", "01.02.2024")
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output
    assert yb(db, "enroll").exit_code == 0  # no options: the help
    empty = f"sqlite:///{tmp_path}/empty.db"
    res = runner.invoke(cli.app, ["person", "find", "王", "--db", empty])
    assert res.exit_code == 2 and "yibao db upgrade" in res.output and "Traceback" not in res.output
