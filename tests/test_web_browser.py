"""The public pages in Debian's Chromium (Playwright with executable_path; issue 5): the calculator
and the scheme chooser work without login in both languages, the comparison draws its charts
from local assets, and the numbers on the page are the API's. Screenshots of the main pages go to
``tests/.screenshots/`` (ignored); ``make screenshots`` refreshes the committed copies."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright

from yibao.api.app import create_app

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / ".screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is installed by `make system` (make test runs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, errors  # no script error (the content security policy lets the page's scripts run)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


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
        TestClient(create_app())
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
    _shot(page, "calculator-zh")
    page.click("#lang-switch")
    page.wait_for_selector("#claim-result")
    assert page.locator("html").get_attribute("lang") == "en" and "How it was calculated" in page.content()
    assert page.locator('#claim-result td[data-key="hifp_pay"]').inner_text() == shown
    _shot(page, "calculator-en")


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
    _shot(page, f"chooser-{lang}")


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
    _shot(page, "compare-zh")
