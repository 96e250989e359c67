"""``yibao settle`` and ``yibao claim show|reverse`` end to end, on SQLite and PostgreSQL.

Amounts: Beijing 2024, level 3, in-service, first admission of 20000 yuan with 500 in the account
— deductible 1300, pooled fund (20000 − 1300) × 85% = 15895 (DOMAIN §4.2–§4.3, beijing.yaml).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_claims_support import contribution, enroll, fund_account, months, person, row_counts
from typer.testing import CliRunner

from yibao.admin.uow import run
from yibao.cli import admin_claims

APP = typer.Typer()
admin_claims.install(APP)


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        p = person(s)
        contribution(s, enroll(s, p, start=202001), months(202001, 202412))
        fund_account(s, p, 50_000)
        return {"person": str(p.id), "url": engine.url.render_as_string(hide_password=False)}
    return run(engine, step)


def cli(w: dict[str, Any], *args: str, code: int = 0, as_json: bool = True) -> Any:
    r = CliRunner().invoke(APP, [*args, "--db", w["url"], *(["--json"] if as_json else [])])
    assert r.exit_code == code, (r.output, r.stderr if r.stderr_bytes is not None else "")
    if code != 0:
        return r.stderr
    return json.loads(r.stdout) if as_json else r.stdout


def settle_args(w: dict[str, Any], *extra: str) -> list[str]:
    return ["settle", "--person", w["person"], "--region", "beijing", "--date", "2024-03-15", "--kind",
            "inpatient", "--level", "level_3", "--total", "20000.00", *extra]


def test_settle_prints_the_breakdown_and_both_explanations(world: dict[str, Any]) -> None:
    out = cli(world, *settle_args(world, "--key", "cli-1"), as_json=False)
    assert "15895.00" in out and "hifp_pay" in out and "500.00" in out
    assert out.index("住院结算") < out.index("inpatient settlement")  # Chinese, then English
    assert "起付线" in out and "deductible" in out


def test_dry_run_changes_nothing_and_settle_replays_by_key(world: dict[str, Any], engine: Engine) -> None:
    with Session(engine) as s:
        before = row_counts(s)
    pre = cli(world, *settle_args(world, "--dry-run"))
    assert pre["status"] == "presettled" and pre["setlinfo"]["hifp_pay"] == "15895.00"
    with Session(engine) as s:
        after = row_counts(s)
    assert after.pop("audit_event") == before.pop("audit_event") + 1 and after == before
    first = cli(world, *settle_args(world, "--key", "cli-2"))
    again = cli(world, *settle_args(world, "--key", "cli-2"))
    assert again["replayed"] and again["claim_id"] == first["claim_id"]
    shown = cli(world, "claim", "show", str(first["claim_id"]))
    assert shown["setlinfo"] == first["setlinfo"]


def test_reverse_then_reverse_again(world: dict[str, Any]) -> None:
    c = cli(world, *settle_args(world))
    r = cli(world, "claim", "reverse", str(c["claim_id"]), "--date", "2024-03-20")
    assert r["status"] == "reversed" and r["reversed_on"] == "2024-03-20"
    again = cli(world, "claim", "reverse", str(c["claim_id"]), "--date", "2024-03-20")
    assert again["replayed"]
    err = cli(world, "claim", "reverse", str(c["claim_id"]), "--key", "other", code=2)
    assert "already reversed" in err and "冲销" in err


def test_platform_json_input(world: dict[str, Any], tmp_path: Path) -> None:
    """A 2303/2304-style input file: med_type 21 (普通住院), hosp_lv, setl_date, yuan strings."""
    f = tmp_path / "claim.json"
    f.write_text(json.dumps({"psn_no": world["person"], "insuplc_admdvs": "110000", "med_type": "21",
                             "hosp_lv": "level_3", "setl_date": "2024-03-15", "medfee_sumamt": "20000.00",
                             "fulamt_ownpay_amt": "0", "mdtrt_id": "MD-1"}), encoding="utf-8")
    r = cli(world, "settle", "--input", str(f))
    assert r["setlinfo"]["hifp_pay"] == "15895.00" and r["mdtrt_id"] == "MD-1" and r["med_type"] == "21"


@pytest.mark.parametrize(("extra", "needle"), [
    (("--total", "-5"), "--total"),
    (("--level", "level_9"), "hosp_lv"),
    (("--full-self", "30000"), "fulamt_ownpay_amt"),
    (("--date", "2024-13-01"), "--date"),
])
def test_bad_input_is_bilingual_exit_2(world: dict[str, Any], engine: Engine, extra: tuple[str, str],
                                       needle: str) -> None:
    args = settle_args(world)
    i = args.index(extra[0]) if extra[0] in args else None
    if i is not None:
        args[i + 1] = extra[1]
    else:
        args += list(extra)
    with Session(engine) as s:
        before = row_counts(s)
    err = cli(world, *args, code=2)
    assert needle in err and "错误" in err and "error" in err and "Traceback" not in err
    with Session(engine) as s:
        assert row_counts(s) == before


def test_unknown_person_and_claim(world: dict[str, Any]) -> None:
    err = cli(world, "settle", "--person", "999999", "--region", "110000", "--date", "2024-03-15",
              "--total", "100", code=2)
    assert "person" in err
    assert "claim_id" in cli(world, "claim", "show", "424242", code=2)
