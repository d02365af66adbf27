"""Finding 12 in a real browser: under the Content-Security-Policy the dashboard's pages,
the admin's issued-keys page and the API docs work and the browser reports no violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack, embedded_stack

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "csp-browser-pass-1"
SEED = f"""
from django.contrib.auth.models import User
from accounts.models import Membership, Organization
from deals.models import Batch, Deal, Statement
org = Organization.objects.create(name="Policy Lending")
user = User.objects.create_user("uw", "uw@policy.example", {PASSWORD!r})
Membership.objects.create(user=user, organization=org, role="underwriter")
deal = Deal.objects.create(organization=org, business_name="Policy Bakery")
Statement.objects.create(deal=deal, filename="march.csv", status="processing", stage="parsing")
batch = Batch.objects.create(organization=org, deal=deal, total=4, succeeded=1)
User.objects.create_superuser("root", "root@policy.example", {PASSWORD!r})
print("ids", deal.pk, batch.pk)
"""
# Recorded by the page itself: what the browser refused under the policy.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Stack, str, list[str]]]:
    with embedded_stack() as stack:
        base = stack.start_web("uvicorn")
        line = next(
            line for line in stack.manage("shell", "-c", SEED).splitlines() if line.startswith("ids ")
        )
        ids = line.split()[1:]
        yield stack, base, ids


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


def _visit(page: Any, url: str, console: list[str]) -> list[str]:
    response = page.goto(url)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    # Live pages hold an EventSource open (never "network idle"): give late loads a moment.
    page.wait_for_timeout(700)
    violations: list[str] = page.evaluate("window.__violations")
    return violations + [text for text in console if "Content Security Policy" in text]


def test_it_runs_the_dashboard_and_the_docs_under_the_policy(
    browser: Any, served: tuple[Stack, str, list[str]]
) -> None:
    _, base, (deal_id, batch_id) = served
    context = browser.new_context()
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(30_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    assert _visit(page, base + "/login", console) == []
    page.fill("#id_username", "uw")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")

    for path in ("/", f"/deals/{deal_id}", f"/batches/{batch_id}", "/activity"):
        assert _visit(page, base + path, console) == [], path
        assert page.evaluate("document.body.dataset.page") is not None

    # Scripts ran: live pages connect, and progress bars take their width from data-percent.
    page.goto(f"{base}/batches/{batch_id}")
    page.wait_for_selector("[data-live-status][data-state=live]")
    assert page.evaluate("document.querySelector('#batch-bar .progress__bar').style.width") == "25%"

    assert _visit(page, base + "/api/docs/", console) == []
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Dealstream API" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 5  # the schema loaded and rendered
    context.close()


def test_it_runs_the_admin_under_the_policy(browser: Any, served: tuple[Stack, str, list[str]]) -> None:
    _, base, _ = served
    context = browser.new_context()
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(30_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    assert _visit(page, base + "/admin/login/", console) == []
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/admin/")
    for path in ("/admin/", "/admin/accounts/apikey/", "/admin/deals/deal/", "/admin/accounts/apikey/add/"):
        assert _visit(page, base + path, console) == [], path

    # The page that shows a new key once: its styles and its copy button come from files.
    page.select_option("#id_organization", label="Policy Lending")
    page.fill("#id_name", "csp")
    page.click("input[name=_save]")
    page.wait_for_selector(".issued-key")
    assert page.evaluate("getComputedStyle(document.querySelector('.issued-key')).fontFamily") == "monospace"
    page.click("[data-copy]")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__violations") == []
    assert [text for text in console if "Content Security Policy" in text] == []
    context.close()
