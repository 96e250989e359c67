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


def _csrf(c: TestClient) -> str:
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/lab").text)
    assert m, "no form token on /lab"
    return m.group(1)


SMALL = "name_zh: 小\nname_en: Small\nagents: 1000\ndraws: 1\nend_year: 2026\n"


def test_an_analyst_starts_a_run_from_the_page_and_reads_it_when_done(site: dict[str, Any]) -> None:
    """The pages start ``yibao lab run`` in the background (one at a time, low priority) and show its
    progress until the results are there; the start is audited."""
    import json
    import time

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from yibao.db.models.audit import AuditEvent

    c = signed_in(site, "analyst1")
    assert 'id="lab-form"' in c.get("/lab").text
    r = c.post(
        "/lab", data={"name": "web-small", "scenario": SMALL, "csrf_token": _csrf(c)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/lab/web-small"), r.text[:300]
    folder = Path(site["app"].state.data_dir) / "lab" / "web-small"
    deadline = time.monotonic() + 300
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if (folder / "progress.json").exists():
            state = json.loads((folder / "progress.json").read_text())
            if state["state"] in ("done", "failed"):
                break
        time.sleep(1)
    assert state.get("state") == "done", (folder / "run.log").read_text()[-2000:]
    page = c.get("/lab/web-small")
    assert page.status_code == 200 and 'data-variant="baseline"' in page.text
    assert "web-small" in c.get("/lab").text
    with Session(site["engine"]) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "lab.run")).all()
    assert [(e.actor, e.subject_id) for e in events] == [("user:analyst1", "web-small")]


@pytest.mark.parametrize(
    ("name", "scenario", "field", "accepted"),
    [
        ("bad name", SMALL, "name", "one folder name"),
        (
            "bad-reform",
            "variants:\n  - {id: mine, reforms: [/etc/passwd]}\n",
            "variants[0].reforms",
            "the shipped reforms only",
        ),
        (
            "extract",
            "pools:\n  - {id: a, members_share: 0.1}\n  - {id: b, extract: /etc/hosts, balance_months: 1}\n",
            "pools[1].extract",
            "may not read files on the server",
        ),
        ("big", "agents: 300000\n", "agents/draws", "at most 200000 records"),
        ("badyaml", "agents: [\n", "SCENARIO", "not valid YAML"),
    ],
)
def test_a_scenario_the_pages_may_not_run_is_refused_and_nothing_starts(
    site: dict[str, Any], name: str, scenario: str, field: str, accepted: str
) -> None:
    c = signed_in(site, "analyst1")
    r = c.post(
        "/lab", data={"name": name, "scenario": scenario, "csrf_token": _csrf(c)}, follow_redirects=False
    )
    assert r.status_code == 422 and field in r.text and accepted in r.text, r.text[-800:]
    assert not (Path(site["app"].state.data_dir) / "lab" / name).exists()


def test_a_shipped_reform_by_path_is_still_refused_from_the_pages(
    site: dict[str, Any], tmp_path: Path
) -> None:
    """A reform file that exists on the server is a server file: the pages take reform ids only."""
    from importlib import resources

    path = resources.files("yibao.policy").joinpath("params/reforms/personal_oop_cap.yaml")
    c = signed_in(site, "analyst1")
    scenario = f"variants:\n  - {{id: cap, reforms: ['{path}']}}\n"
    r = c.post("/lab", data={"name": "by-path", "scenario": scenario, "csrf_token": _csrf(c)})
    assert r.status_code == 422 and "the shipped reforms only" in r.text


def test_one_run_at_a_time_and_only_analysts_start_them(site: dict[str, Any]) -> None:
    import datetime as dt
    import json

    going = Path(site["app"].state.data_dir) / "lab" / "going"
    going.mkdir(parents=True)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    (going / "progress.json").write_text(
        json.dumps({"state": "running", "done": 3, "total": 9, "updated": now})
    )
    try:
        c = signed_in(site, "analyst1")
        page = c.get("/lab/going")
        assert page.status_code == 200 and 'data-state="running"' in page.text and "3 / 9" in page.text
        r = c.post("/lab", data={"name": "second", "scenario": SMALL, "csrf_token": _csrf(c)})
        assert r.status_code == 422 and "one at a time" in r.text
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(timespec="seconds")
        (going / "progress.json").write_text(
            json.dumps({"state": "running", "done": 3, "total": 9, "updated": old})
        )
        assert 'data-state="stopped"' in c.get("/lab/going").text
    finally:
        (going / "progress.json").unlink()
        going.rmdir()
    op = signed_in(site, "op.bj")
    assert 'id="lab-form"' not in op.get("/lab").text
    refused = op.post("/lab", data={"name": "x", "scenario": SMALL, "csrf_token": _csrf(op)})
    assert refused.status_code == 403 and "lab.run" in refused.text
