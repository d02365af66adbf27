"""Every dashboard page in Chromium at desktop and phone widths: axe-core finds nothing serious
or critical, and no page is wider than a phone's viewport (WCAG 1.4.10, reflow).

`SAVE_SCREENSHOTS=1` writes docs/screenshots/activity.png (1280 px) and activity-phone.png (390 px).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from tests.e2e.stack import Stack, manage
from tests.e2e.test_dashboard_browser import (
    ORG,
    browser,  # noqa: F401 - the module-scoped Chromium, shared as a fixture
    log_in,
    screenshot_path,
    served,  # noqa: F401 - the web process, shared as a fixture
    statement_csv,
    wait_live,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

WIDTHS = (1280, 390)
PHONE_WIDTHS = (390, 320)
BLOCKING = {"serious", "critical"}

# A deal scored from two statements, with a rejected proposal, and a batch on another deal,
# so the feed, the work queue and the batch page all have something to show.
SEED = f"""
import io
from accounts.models import Organization
from deals import services
from tests.e2e.test_dashboard_browser import statement_csv
org = Organization.objects.get(name={ORG!r})
deal = services.create_deal(org, business_name="Quayside Hardware Supplies Incorporated", created_by="seed",
                            amount_requested=45000, external_ref="QHS-2024-REFERENCE-0001")
files = [("march-statement-with-a-very-long-file-name.csv", statement_csv(3, deposit="900.00", nsf=True)),
         ("april.csv", statement_csv(4, deposit="950.00"))]
docs = [services.Document(name, io.BytesIO(text.encode()), len(text)) for name, text in files]
for doc in docs:
    services.add_statements(org, deal.pk, [doc], created_by="seed")
deal.refresh_from_db()
services.reject_change(org, deal.open_proposal.pk, resolved_by="uw@harbor.example")
other = services.create_deal(org, business_name="Pier Nine", created_by="seed")
text = statement_csv(5, deposit="800.00")
_, batch = services.add_statements(
    org, other.pk, [services.Document(name, io.BytesIO(text.encode()), len(text)) for name in ("a.csv", "b.csv")],
    created_by="seed", as_batch=True,
)
print(deal.pk, batch.pk)
"""


@pytest.fixture
def seeded(served: tuple[Stack, str, int]) -> tuple[str, int, str]:  # noqa: F811
    stack, base, _ = served
    output = manage({**stack.env, "JOB_RUNNER": "inline"}, "shell", "-c", SEED)
    deal_id, batch_id = output.strip().splitlines()[-1].split()
    return base, int(deal_id), batch_id


def blocking_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page, one readable line each."""
    page.add_script_tag(content=AXE_SCRIPT)
    results = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in results["violations"]
        if violation["impact"] in BLOCKING
    ]


def page_width(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def test_every_dashboard_page_passes_axe_and_reflows_on_a_phone(
    browser: Any,  # noqa: F811
    seeded: tuple[str, int, str],
    tmp_path: Path,
) -> None:
    base, deal_id, batch_id = seeded
    pages = {
        "deal list": "/",
        "awaiting decision": "/?view=awaiting&sort=score",
        "deal page": f"/deals/{deal_id}",
        "deal transactions": f"/deals/{deal_id}?flag=nsf#transactions",
        "activity": "/activity",
        "decisions only": "/activity?type=decisions",
        "batch page": f"/batches/{batch_id}",
    }
    findings: dict[str, list[str]] = {}
    too_wide: dict[str, int] = {}
    for width in (*WIDTHS, 320):
        # axe-core is injected as a script tag, which the dashboard's strict Content-Security-
        # Policy refuses by design; this context alone bypasses the policy to run the checker.
        context = browser.new_context(viewport={"width": width, "height": 860}, bypass_csp=True)
        login = context.new_page()
        login.goto(base + "/login")
        if width in WIDTHS:
            findings[f"login @ {width}"] = blocking_violations(login)
        if width in PHONE_WIDTHS and page_width(login) > width:
            too_wide[f"login @ {width}"] = page_width(login)
        login.close()
        page = log_in(context, base)
        for name, path in pages.items():
            page.goto(base + path)
            if path.startswith(("/activity", "/deals", "/?", "/")) and "batches" not in path:
                wait_live(page)
            if name == "deal transactions":
                # The table is there, with every correction and removal form open to be checked.
                assert page.locator("#transaction-table tbody tr").count() > 0
                page.evaluate(
                    "() => document.querySelectorAll('#deal-review details, #transactions details').forEach(d => d.open = true)"
                )
            if width in WIDTHS:
                findings[f"{name} @ {width}"] = blocking_violations(page)
            if width in PHONE_WIDTHS and page_width(page) > width:
                too_wide[f"{name} @ {width}"] = page_width(page)
        context.close()

    assert {where: found for where, found in findings.items() if found} == {}
    assert too_wide == {}


def test_the_activity_feed_reads_as_one_dated_line_per_outcome_on_desktop_and_phone(
    browser: Any,  # noqa: F811
    seeded: tuple[str, int, str],
    tmp_path: Path,
) -> None:
    base, _, _ = seeded
    for width, name in ((1280, "activity.png"), (390, "activity-phone.png")):
        context = browser.new_context(viewport={"width": width, "height": 860})
        page = log_in(context, base)
        page.goto(base + "/activity")
        wait_live(page)
        types = page.eval_on_selector_all("#activity > li", "items => items.map(i => i.dataset.type)")
        assert types.count("processing.completed") == 4  # one line per statement seeded, no more
        assert "processing.progress" not in types
        assert "proposal.rejected" in types
        completed = page.inner_text('#activity > li[data-type="processing.completed"]:has-text("Quayside")')
        # The deal's name in the sentence and a date on the line (e.g. "2 Dec 2026, 14:03").
        assert "Quayside Hardware Supplies Incorporated: Statement" in completed
        assert re.search(
            r"\b20\d\d\b", page.inner_text('#activity > li[data-type="processing.completed"] time')
        )
        assert page.get_attribute("#activity", "aria-live") is None
        assert page_width(page) <= width
        page.screenshot(path=str(screenshot_path(name, tmp_path)), full_page=width < 1280)
        context.close()


def test_a_phone_gets_a_plain_file_button_not_a_drop_zone(
    browser: Any,  # noqa: F811
    seeded: tuple[str, int, str],
) -> None:
    base, _, _ = seeded
    context = browser.new_context(viewport={"width": 390, "height": 760}, has_touch=True, is_mobile=True)
    page = log_in(context, base)
    page.fill("#id_business_name", "Tiny Screen Cafe")
    page.click("text=Create deal")
    page.wait_for_url(re.compile(r"/deals/\d+$"))
    wait_live(page)
    zone = page.query_selector("#dropzone")
    assert zone is not None
    assert not page.is_visible(".dropzone__title")  # no "Drop files here" on a device that cannot drag
    assert page.is_visible("label[for=statement-files]")
    assert zone.bounding_box()["height"] < 760 / 4
    page.set_input_files(
        "#statement-files",
        files=[
            {"name": "may.csv", "mimeType": "text/csv", "buffer": statement_csv(5, deposit="800.00").encode()}
        ],
    )
    page.wait_for_selector("#upload-status >> text=/may.csv|1 file|statement/i")
    context.close()
