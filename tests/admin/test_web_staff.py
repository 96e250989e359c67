"""The staff and insured-person pages in Debian's Chromium (issue 5): a staff member signs in,
registers and enrolls a person, declares the wage, assesses two months, records the unit's payment,
settles a claim and sees the same breakdown as the CLI (``yibao claim show --json``); an insured
person sees their own records and gets 403 on anyone else's page. On SQLite (the pages are the
services' callers; the services are tested on both databases)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine
from test_api_service import PASSWORD, UNIT_BJ, enrolled_member, make_user, new_id, token_for
from test_transfer_support import SHANGHAI_TRANSFER
from typer.testing import CliRunner

from browser_support import serving, shot
from yibao.admin import register
from yibao.admin.demo import DEMO_REGION, demo_region_text
from yibao.admin.policies import add_region
from yibao.admin.uow import SYSTEM, run
from yibao.api.app import create_app
from yibao.cli import admin_claims
from yibao.platform.settle import SETLINFO_LABELS

CLI = typer.Typer()
admin_claims.install(CLI)
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture()
def site(engine: Engine) -> Iterator[dict[str, Any]]:
    run(engine, lambda s: add_region(s, demo_region_text()))
    run(engine, lambda s: register.register_employer(s, SYSTEM, UNIT_BJ, "示范科技有限公司", DEMO_REGION))
    make_user(engine, "op.bj", "operator", regions=[DEMO_REGION], display_name="王经办")
    with serving(create_app(engine)) as url:
        yield {"url": url, "engine": engine}


def sign_in(page: Page, url: str, username: str, lang: str = "zh") -> None:
    page.goto(f"{url}/staff?lang={lang}")
    page.wait_for_selector("#login-form")  # not signed in: sent to the sign-in page
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#who")


def submit(page: Page, button: str) -> None:
    with page.expect_navigation():
        page.click(button)


def test_staff_enroll_pay_settle_and_the_breakdown_is_the_clis(page: Page, site: dict[str, Any]) -> None:
    url, engine = site["url"], site["engine"]
    sign_in(page, url, "op.bj")
    assert page.locator("#who").inner_text() == "王经办"
    page.click("#new-person")
    idn = new_id()
    page.fill("#id_number", idn)
    page.fill("#name", "赵六")
    submit(page, "#save-person")
    pid = int(re.search(r"/staff/persons/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    assert idn not in page.content()  # shown masked
    page.fill("#hire-employer", UNIT_BJ)
    page.fill("#hire-date", "2024-01-01")
    submit(page, "#hire")
    page.fill("#start_month", "2024-01")
    page.fill("#enroll-employer", UNIT_BJ)
    submit(page, "#enroll")
    assert "in_service" in page.locator("#enrollments").inner_text()
    page.fill("#declare-payer", UNIT_BJ)
    page.fill("#declare-wage", "10000")
    page.fill("#declare-month", "2024-01")
    submit(page, "#declare")
    for month in ("2024-01", "2024-02"):
        page.goto(f"{url}/staff")
        page.fill("#assess-month", month)
        submit(page, "#assess")
        assert "核定" in page.locator("#notice").inner_text()
    page.goto(f"{url}/staff/persons/{pid}")
    owed = page.locator("#open").inner_text()
    assert owed != "0.00" and page.locator("#months .status").all_inner_texts() == ["due", "due"]
    page.fill("#payer", UNIT_BJ)
    page.fill("#amount", owed)
    page.fill("#received_on", "2024-02-15")
    page.fill("#reference", "BANK-0001")
    submit(page, "#pay")
    assert page.locator("#unallocated").inner_text() == "0.00"
    page.click("#back")
    page.wait_for_selector("#months")
    assert page.locator("#months .status").all_inner_texts() == ["paid", "paid"]
    page.fill("#service_date", "2024-03-15")
    page.fill("#claim-total", "20000")
    page.fill("#claim-self-pay", "1000")
    submit(page, "#settle")
    claim_id = page.locator("#claim-id").inner_text()
    shown = {k: page.locator(f'#breakdown td[data-key="{k}"]').inner_text() for k in SETLINFO_LABELS}
    assert shown["hifp_pay"] == "15045.00"  # Beijing's rules: (19000 − 1300) × 85%
    assert "待遇资格" in page.content() or "资格" in page.content()
    shot(page, "staff-claim-zh")
    cli = CliRunner().invoke(CLI, ["claim", "show", claim_id, "--json", "--db", str(engine.url)])
    assert cli.exit_code == 0, cli.output
    printed = json.loads(cli.output)["setlinfo"]
    assert shown == {k: str(printed[k]) for k in SETLINFO_LABELS}
    # the same claim in English
    page.goto(f"{url}/staff/claims/{claim_id}?lang=en")
    assert "How it was calculated" in page.content()
    assert page.locator('#breakdown td[data-key="hifp_pay"]').inner_text() == "15045.00"
    shot(page, "staff-claim-en")
    page.goto(f"{url}/staff/persons/{pid}")
    shot(page, "staff-person-zh")


def test_insured_person_sees_own_records_and_403_elsewhere(browser: Browser, site: dict[str, Any]) -> None:
    url, engine = site["url"], site["engine"]
    client = TestClient(create_app(engine))
    w = {"client": client, "engine": engine, "op.bj": token_for(engine, "op.bj")}
    mine, other = enrolled_member(w), enrolled_member(w)
    body = {"region": DEMO_REGION, "service_date": "2024-03-15", "total": "8000"}
    h = w["op.bj"]
    own_claim, their_claim = (
        client.post("/api/v1/claims", json={**body, "person": m["person"]["id"]}, headers=h).json()
        for m in (mine, other)
    )
    make_user(engine, "zhangsan", "insured", person=mine["person"]["id"], display_name="张三")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        for lang in ("zh", "en"):
            page.goto(f"{url}/me?lang={lang}")
            if page.locator("#login-form").count():
                page.fill("#username", "zhangsan")
                page.fill("#password", PASSWORD)
                submit(page, "#login-submit")
            page.wait_for_selector("#me-title")
            assert mine["id_number"] in page.content()  # their own record, in full
            assert page.locator("#months tr").count() == 3  # header + two paid months
            assert str(own_claim["claim_id"]) in page.locator("#claims").inner_text()
            shot(page, f"me-{lang}")
        page.goto(f"{url}/me/claims/{own_claim['claim_id']}")
        assert page.locator('#breakdown td[data-key="fund_pay_sumamt"]').inner_text()
        for path in (
            f"/me/claims/{their_claim['claim_id']}",
            f"/staff/persons/{other['person']['id']}",
            f"/staff/claims/{their_claim['claim_id']}",
            "/staff",
            "/staff/audit",
        ):
            response = page.goto(f"{url}{path}")
            assert response is not None and response.status == 403, path
            assert "无权" in page.content() or "may" in page.content()
    finally:
        context.close()


def test_employer_clerk_declares_and_uploads_a_wage_file(
    browser: Browser, site: dict[str, Any], tmp_path: Any
) -> None:
    url, engine = site["url"], site["engine"]
    client = TestClient(create_app(engine))
    w = {"client": client, "engine": engine, "op.bj": token_for(engine, "op.bj")}
    m = enrolled_member(w)
    make_user(engine, "clerk.demo", "employer", employer=m["employer_id"], display_name="单位经办")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{url}/staff/employer")
        page.fill("#username", "clerk.demo")
        page.fill("#password", PASSWORD)
        submit(page, "#login-submit")
        page.wait_for_selector("#employer-title")
        assert m["id_number"] not in page.content()  # employees listed masked
        page.fill("#employer-declare-wage", "15000")
        page.fill("#employer-declare-month", "2024-05")
        submit(page, "#employer-declare")
        assert "declared" in page.locator("#notice").inner_text()
        wages = tmp_path / "工资.csv"
        wages.write_text(
            f"证件号码,姓名,缴费工资,起始月份\n{m['id_number']},张三,16000,2024-06\n"
            f"{m['id_number']},张三,-1,2024-07\n",
            encoding="utf-8",
        )
        page.set_input_files("#wage-file", str(wages))
        submit(page, "#wage-file-submit")
        assert page.locator("#imported").inner_text() == "0"  # all or nothing: row 3 is bad
        assert "wage" in page.locator("#bad-rows").inner_text()
        shot(page, "employer-wage-file-zh")
        # the clerk reaches neither a person's page nor the desk
        for path in (f"/staff/persons/{m['person']['id']}", "/staff", "/worklists"):
            response = page.goto(f"{url}{path}")
            assert response is not None and response.status == 403, path
    finally:
        context.close()


def test_a_transfer_from_the_pages_out_received_and_completed(site: dict[str, Any]) -> None:
    engine = site["engine"]
    client = TestClient(create_app(engine))
    w = {"client": client, "engine": engine, "op.bj": token_for(engine, "op.bj")}
    m = enrolled_member(w)
    client.post(
        "/api/v1/employments/end",
        headers=w["op.bj"],
        json={"person": m["person"]["id"], "employer": m["employer_id"], "end_date": "2024-02-29"},
    )
    # the receiving region must say how it counts years paid elsewhere and whether the account
    # follows (Shanghai's sources do not: the transfer would be refused, naming the parameter);
    # the transfer tests' Shanghai with hypothetical values does
    receiving = SHANGHAI_TRANSFER + (
        "  contribution.flexible.base_choice:\n"
        "    [{from: 2020-01-01, value: fixed_options, source: hypothetical}]\n"
        '  contribution.flexible.base_options: [{from: 2020-01-01, value: ["60%"], source: hypothetical}]\n'
    )
    run(engine, lambda s: add_region(s, receiving))
    make_user(engine, "op.sh", "operator", regions=["990310"])

    def browser_of(username: str) -> tuple[TestClient, str]:
        c = TestClient(create_app(engine))
        r = c.post("/login", data={"username": username, "password": PASSWORD, "next": "/staff"})
        return c, re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]

    bj, bj_csrf = browser_of("op.bj")
    out = bj.post(
        f"/staff/persons/{m['person']['id']}/transfer",
        data={"region": DEMO_REGION, "end_month": "2024-02", "csrf_token": bj_csrf},
    )
    assert out.status_code == 200
    case_id = re.search(r'id="case-id">(\d+)<', out.text).group(1)  # type: ignore[union-attr]
    sh, sh_csrf = browser_of("op.sh")
    got = sh.post(
        "/staff/transfers/receive",
        data={
            "case_id": case_id,
            "region": "990310",
            "start_month": "2024-04",  # March not covered: a gap to pay or decline
            "category": "flexible",
            "csrf_token": sh_csrf,
        },
    )
    assert got.status_code == 200 and "received" in got.text, got.text[got.text.find('id="error"') :][:600]
    done = sh.post(
        f"/staff/transfers/{case_id}/complete",
        data={"on_date": "2024-04-10", "declined": "1", "csrf_token": sh_csrf},
    )
    assert done.status_code == 200 and "completed" in done.text
    assert bj.get(f"/staff/transfers/{case_id}").status_code == 200  # both ends may read it


def test_a_large_claim_waits_on_the_page_until_a_reviewer_approves_it(
    browser: Browser, page: Page, site: dict[str, Any]
) -> None:
    """Four-eyes in the browser (issue 8): the operator's 80,000-yuan claim lands on the approvals
    page, filed and not paid; the reviewer (password and one-time code) approves it there, and the
    claim is settled."""
    from test_api_service import SECRETS

    from yibao.admin import totp

    url, engine = site["url"], site["engine"]
    w = {"client": TestClient(create_app(engine)), "engine": engine, "op.bj": token_for(engine, "op.bj")}
    m = enrolled_member(w)
    make_user(engine, "rev.bj", "reviewer", regions=[DEMO_REGION], display_name="李复核")
    sign_in(page, url, "op.bj")
    page.goto(f"{url}/staff/persons/{m['person']['id']}")
    page.fill("#service_date", "2024-03-15")
    page.fill("#claim-total", "80000")
    submit(page, "#settle")
    assert "/staff/approvals/" in page.url and page.locator("#filed").is_visible()
    assert "pending" in page.locator("#approvals").inner_text()
    assert page.locator("#decide-form").count() == 0  # the operator cannot decide
    context = browser.new_context(viewport={"width": 390, "height": 844})
    rev = context.new_page()
    rev.goto(f"{url}/staff/approvals")
    rev.fill("#username", "rev.bj")
    rev.fill("#password", PASSWORD)
    rev.fill("#otp", totp.code(SECRETS["rev.bj"]))
    rev.click("#login-submit")
    rev.wait_for_selector("#approvals")
    with rev.expect_navigation():
        rev.locator("#approvals a").first.click()
    rev.fill("#decision-note", "住院病历已核")
    shot(rev, "staff-approval-zh")
    with rev.expect_navigation():
        rev.click("#approve")
    assert "executed" in rev.locator("#approvals").inner_text()
    claim_link = rev.locator("#approval-result a")
    assert claim_link.count() == 1
    context.close()
    page.goto(f"{url}/staff/persons/{m['person']['id']}")
    assert "80000.00" in page.locator("#claims").inner_text()
