"""In Chromium, against a server seeded as `make run` seeds it: the demo deal's first screen, and
admin key pages that a reload cannot make mint a second key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.models import DISPLAY_PREFIX_LENGTH
from deals.management.commands.seed_demo import DEMO_DEAL_NAME, DEMO_PASSWORD
from tests.e2e.stack import Stack, embedded_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(240)]

CHROMIUM = "/usr/bin/chromium"
KEY = re.compile(r"dsk_(?:live|test)_[A-Za-z0-9_\-]{32}")
COUNT_KEYS = "from accounts.models import ApiKey; print('keys', ApiKey.objects.count())"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Stack, str]]:
    with embedded_stack() as stack:
        stack.manage("seed_demo")
        yield stack, stack.start_web("uvicorn")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


def key_count(stack: Stack) -> int:
    line = next(
        line for line in stack.manage("shell", "-c", COUNT_KEYS).splitlines() if line.startswith("keys ")
    )
    return int(line.split()[1])


def log_in(page: Any, base: str, path: str, username: str) -> None:
    page.goto(base + path)
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("[type=submit]")
    page.wait_for_load_state("load")


def test_it_opens_on_the_scored_demo_deal(browser: Any, served: tuple[Stack, str]) -> None:
    _, base = served
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    log_in(page, base, "/login", "underwriter")
    row = page.locator("tr", has_text=DEMO_DEAL_NAME)
    assert row.count() == 1
    assert re.search(r"\b\d{1,3}\.\d\b", row.inner_text()), row.inner_text()  # its health score
    context.close()


def test_it_mints_nothing_when_the_key_pages_are_reloaded(browser: Any, served: tuple[Stack, str]) -> None:
    stack, base = served
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    log_in(page, base, "/admin/login/", "admin")
    before = key_count(stack)

    page.goto(base + "/admin/accounts/apikey/add/")
    page.select_option("#id_organization", label="Demo Lending")
    page.fill("#id_name", "browser")
    page.click("input[name=_save]")
    page.wait_for_selector(".issued-key")
    assert page.url == base + "/admin/accounts/apikey/issued/"
    created = page.input_value(".issued-key")
    assert KEY.fullmatch(created)
    page.reload()
    page.wait_for_load_state("load")
    assert "Nothing to show" in page.content()
    assert KEY.search(page.content()) is None
    assert key_count(stack) == before + 1

    # Rotate the new key from its page; the successor is shown once, and the two link up.
    page.goto(base + "/admin/accounts/apikey/")
    page.click("a:text-is('browser')")
    old_url = page.url
    page.click("a:text-is('Rotate key')")
    page.click("input[type=submit][value='Yes, rotate']")
    page.wait_for_selector(".issued-key")
    rotated = page.input_value(".issued-key")
    assert KEY.fullmatch(rotated)
    assert rotated != created
    assert "Rotated from:" in page.inner_text("#content-main")
    page.reload()
    page.wait_for_load_state("load")
    assert KEY.search(page.content()) is None
    assert key_count(stack) == before + 2

    page.goto(old_url)
    replaced_by = page.locator(".field-replaced_by")
    assert rotated[:DISPLAY_PREFIX_LENGTH] in replaced_by.inner_text()
    replaced_by.locator("a").click()
    page.wait_for_load_state("load")
    assert created[:DISPLAY_PREFIX_LENGTH] in page.locator(".field-rotated_from_link").inner_text()
    context.close()
