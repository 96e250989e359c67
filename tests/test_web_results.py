"""The worklist and policy-lab pages (issue 5): what ``yibao match worklist`` and ``yibao lab run``
leave in the data folder, shown to the roles that may see it — worklists only to staff of the
worklist's region, masked as written; lab runs to analysts with the year the fund runs out."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from yibao.admin import totp, users
from yibao.admin.policies import add_region
from yibao.admin.uow import SYSTEM, run
from yibao.api.app import create_app
from yibao.cli.lab import app as lab_app
from yibao.db.engine import make_engine
from yibao.db.migrate import upgrade
from yibao.match.worklists import compute, load_inputs, write_folder

sys.path.insert(0, str(Path(__file__).parent))
import worklist_fixture as fx

PASSWORD = "long enough password"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("data")
    register, run_dir = fx.write(fx.build(), tmp_path_factory.mktemp("worklists"))
    write_folder(compute(load_inputs(run_dir, register)), data / "worklists" / "bj-2024-12")
    scenario = data / "s.yaml"
    scenario.write_text(
        "name_zh: 测试\nname_en: Test\nagents: 2000\ndraws: 3\nend_year: 2032\n"
        "variants:\n  - {id: account_phase_out, reforms: [account_phase_out]}\n"
        "pools:\n  - {id: young, name_zh: 年轻地区, members_share: 0.02, retired_share: 0.15}\n"
        "  - {id: old, name_zh: 老工业地区, members_share: 0.01, retired_share: 0.45, balance_months: 3}\n"
        "adjustment_fund: {levy_rate: 0.03, central_subsidy: true}\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(lab_app, ["run", str(scenario), "--out", str(data / "lab" / "reforms")])
    assert done.exit_code == 0, done.output
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='yibao-results-')}/y.db")
    upgrade(engine)
    run(engine, lambda s: add_region(s, None, "beijing"))
    run(engine, lambda s: add_region(s, None, "shanghai"))
    for name, role, regions in (
        ("op.bj", "operator", ["110000"]),
        ("op.sh", "operator", ["310000"]),
        ("analyst1", "analyst", None),
        ("root1", "admin", None),
    ):
        run(
            engine,
            lambda s, n=name, r=role, g=regions: users.create_user(s, SYSTEM, n, PASSWORD, r, regions=g),
        )
    secret, _ = run(engine, lambda s: users.enroll_totp(s, SYSTEM, "root1"))  # an admin signs in with a code
    return {"app": create_app(engine, data_dir=data), "engine": engine, "secrets": {"root1": secret}}


def signed_in(site: dict[str, Any], username: str) -> TestClient:
    c = TestClient(site["app"])
    form = {"username": username, "password": PASSWORD}
    if username in site["secrets"]:
        form["otp"] = totp.code(site["secrets"][username])
    r = c.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def test_worklists_for_the_regions_staff_and_masked(site: dict[str, Any]) -> None:
    c = signed_in(site, "op.bj")
    page = c.get("/worklists")
    assert page.status_code == 200 and "bj-2024-12" in page.text and "死亡" in page.text
    rows = c.get("/worklists/bj-2024-12/deceased_enrolled")
    assert rows.status_code == 200 and rows.text.count("<tr>") == 1 + 3  # header + the fixture's 3 cases
    assert fx.rid(18) not in rows.text and "*" in rows.text  # IDs as written: masked
    en = c.get("/worklists/bj-2024-12/deceased_enrolled", params={"lang": "en", "priority": 1})
    assert en.status_code == 200 and "Suggested action" in en.text
    # another region's staff do not see Beijing's run, and cannot open it by name
    other = signed_in(site, "op.sh")
    assert "bj-2024-12" not in other.get("/worklists").text
    assert other.get("/worklists/bj-2024-12/deceased_enrolled").status_code == 403
    # the analyst sees aggregates, not worklists of people
    assert signed_in(site, "analyst1").get("/worklists").status_code == 403
    # nothing outside the data folder can be named
    for bad in ("..", "..%2F..", "a b"):
        assert c.get(f"/worklists/{bad}/deceased_enrolled").status_code in (404, 422)


def test_lab_runs_show_when_the_fund_runs_out(site: dict[str, Any]) -> None:
    c = signed_in(site, "analyst1")
    assert "reforms" in c.get("/lab").text
    page = c.get("/lab/reforms")
    assert page.status_code == 200
    ex = pl.read_parquet(Path(site["app"].state.data_dir) / "lab" / "reforms" / "exhaustion.parquet")
    assert set(ex["variant"]) == {"baseline", "no_retirement_rise", "account_phase_out"}
    for v in ex["variant"].unique():
        assert f'data-variant="{v}"' in page.text
    assert 'id="lab-data"' in page.text and "/static/lab.js" in page.text and "<script>" not in page.text
    # the scenario's pools: the old one runs out alone, not with the fund and the central subsidy
    old = page.text.split('data-pool="old" data-variant="baseline"')[1].split("</tr>")[0]
    assert "老工业地区" in old and old.count("<td") == 6
    summary = pl.read_parquet(Path(site["app"].state.data_dir) / "lab" / "reforms" / "pool_summary.parquet")
    row = summary.filter(
        (pl.col("pool") == "old") & (pl.col("variant") == "baseline") & (pl.col("draw") == 0)
    )
    assert f'<td class="num">{row["exhaustion_alone"][0]}</td>' in old and "晚于 2032" in old
    report = c.get("/lab/reforms/report.html")
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    assert TestClient(site["app"]).get("/lab", follow_redirects=False).status_code == 303  # sign in first


def test_reading_a_worklist_is_audited(site: dict[str, Any]) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from yibao.db.models.audit import AuditEvent

    signed_in(site, "op.bj").get("/worklists/bj-2024-12/interrupted")
    with Session(site["engine"]) as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "worklist.read")).all()
    assert any(e.subject_id == "bj-2024-12/interrupted" and e.actor == "user:op.bj" for e in ev)


def test_the_admin_manages_accounts_and_tokens_from_the_page(site: dict[str, Any]) -> None:
    import re

    c = signed_in(site, "root1")
    page = c.get("/staff/users")
    assert page.status_code == 200 and 'data-user="op.bj"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    made = c.post(
        "/staff/users",
        data={
            "username": "aud.bj",
            "password": PASSWORD,
            "role": "auditor",
            "regions": "110000",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    refused = c.post(
        "/staff/users",
        data={
            "username": "xx9",
            "password": "short",
            "role": "auditor",
            "regions": "110000",
            "csrf_token": csrf,
        },
    )
    assert refused.status_code == 422 and "password" in refused.text and "short" not in refused.text
    shown = c.post("/staff/users/aud.bj/token", data={"name": "scripts", "days": "30", "csrf_token": csrf})
    token = re.search(r'id="token">(yb_[^<]+)<', shown.text).group(1)  # type: ignore[union-attr]
    api = TestClient(site["app"])
    assert api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    c.post("/staff/users/aud.bj/active", data={"active": "0", "csrf_token": csrf})
    assert api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert (
        TestClient(site["app"]).post("/login", data={"username": "aud.bj", "password": PASSWORD}).status_code
        == 401
    )
    # no one else manages accounts
    assert signed_in(site, "op.bj").get("/staff/users").status_code == 403
