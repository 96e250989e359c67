"""The public pages in Debian's Chromium (Playwright with executable_path; issue 5): the calculator
and the scheme chooser work without login in both languages, the comparison draws its charts
from local assets, and the numbers on the page are the API's. Screenshots of the main pages go to
``tests/.screenshots/`` (ignored); ``make screenshots`` refreshes the committed copies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page

from browser_support import serving, shot
from yibao.api.app import create_app
from yibao.db.engine import make_engine


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(create_app(make_engine("sqlite://"))) as url:  # the public pages need no tables
        yield url


def test_calculator_in_chinese_then_english_shows_the_apis_numbers(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/calculator")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.select_option("#region", "beijing")
    page.fill("#date", "2024-03-15")
    page.fill("#wage", "8000")
    page.fill("#total", "20000")
    page.fill("#self_pay", "1000")
    page.click("#compute")
    page.wait_for_selector("#claim-result")
    assert "计算过程" in page.content()
    shown = page.locator('#claim-result td[data-key="hifp_pay"]').inner_text()
    api = (
        TestClient(create_app(make_engine("sqlite://")))
        .post(
            "/api/v1/calc/settle",
            json={
                "psn_no": "web",
                "insuplc_admdvs": "beijing",
                "setl_date": "2024-03-15",
                "med_type": "21",
                "hosp_lv": "level_3",
                "psn_type": "in_service",
                "age": 45,
                "medfee_sumamt": "20000",
                "fulamt_ownpay_amt": "1000",
            },
        )
        .json()
    )
    assert shown == api["setlinfo"]["hifp_pay"]
    assert page.locator('#contribution-result td[data-key="individual_basic"]').inner_text() == "160.00"
    # each amount is named in the page's language, its platform field code beside it
    assert "个人缴费（基本医疗） individual_basic" in page.locator("#contribution-result").inner_text()
    assert "统筹基金支出 hifp_pay" in page.locator("#claim-result").inner_text()
    shot(page, "calculator-zh")
    page.click("#lang-switch")
    page.wait_for_selector("#claim-result")
    assert page.locator("html").get_attribute("lang") == "en" and "How it was calculated" in page.content()
    assert page.locator('#claim-result td[data-key="hifp_pay"]').inner_text() == shown
    assert "pooled fund hifp_pay" in page.locator("#claim-result").inner_text()
    shot(page, "calculator-en")


def test_calculator_refuses_bad_input_in_both_languages(page: Page, base_url: str) -> None:
    response = page.goto(f"{base_url}/calculator?wage=-5")
    assert response is not None and response.status == 422
    text = page.locator("#error").inner_text()
    assert "wage" in text and "无效" in text and "invalid" in text and "Traceback" not in page.content()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_scheme_chooser_without_login(page: Page, base_url: str, lang: str) -> None:
    page.goto(f"{base_url}/chooser?lang={lang}")
    page.select_option("#work", "beijing")
    page.select_option("#hukou", "wuhan")
    page.fill("#income", "6000")
    page.fill("#date", "2025-03-01")
    page.click("#compute")
    rows = page.locator("#options tr[data-scheme]")
    rows.first.wait_for()
    assert rows.count() == 3
    employee = page.locator('#options tr[data-scheme="employee_at_work"]').inner_text()
    assert ("职工医保" if lang == "zh" else "Employee insurance") in employee
    assert "6915.72" in employee  # Beijing flexible worker, lowest base option, 12 months
    shot(page, f"chooser-{lang}")


def test_regional_comparison_draws_charts_from_local_assets(page: Page, base_url: str) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{base_url}/compare?regions=beijing&regions=shanghai&regions=wuhan&date=2024-03-15")
    page.wait_for_selector("#charts .main-svg", state="attached", timeout=15_000)
    assert page.locator("#charts .plot-container").count() >= 2  # rates and amounts at least
    assert page.locator("#comparison tr").count() > 10
    assert all(u.startswith(base_url) for u in requested), [
        u for u in requested if not u.startswith(base_url)
    ]
    shot(page, "compare-zh")
