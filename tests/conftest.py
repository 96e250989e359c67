"""Fixtures the browser tests share (tests/ and tests/admin/): Debian's Chromium driven by
Playwright through ``executable_path`` (a browser download never works here), and a phone-sized
page that fails the test on any script error."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from browser_support import CHROMIUM
from yibao.db.crypto import create_keyring

# Personal fields are stored encrypted (yibao.db.crypto): the test session, and every `yibao` it
# starts, shares one keyring in a temporary folder.
if "YIBAO_KEY_FILE" not in os.environ:
    os.environ["YIBAO_KEY_FILE"] = str(Path(tempfile.mkdtemp(prefix="yibao-keys-")) / "test.keys")
    create_keyring()


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
