"""The deal page's transactions and corrections in Chromium, with other tabs following live.

An underwriter opens each flag onto the transactions behind it and filters the table; then marks
a deposit as not revenue with a reason, which re-scores the deal in a second tab (score, charts,
table and event log) without a reload; then removes the statement, which the second tab and the
deal list in a third follow. A picture dropped as a statement is refused with what to export
instead, and a proposal rejected in one tab disappears from another.

`SAVE_SCREENSHOTS=1` writes docs/screenshots/deal-transactions.png (1280 wide) and
deal-transactions-phone.png (390 wide).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard import known_statement as known
from tests.e2e.stack import Stack, embedded_stack, free_port, manage
from tests.e2e.test_dashboard_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ORG,
    SEED,
    log_in,
    mark_no_reload,
    screenshot_path,
    still_same_document,
    wait_live,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

KNOWN_DEAL = f"""
import io
from decimal import Decimal
from accounts.models import Organization
from deals import services
from tests.dashboard import known_statement as known
org = Organization.objects.get(name={ORG!r})
deal = services.create_deal(org, business_name="Harbor Bakery", amount_requested=Decimal(known.AMOUNT_REQUESTED), created_by="seed")
content = known.known_csv()
services.add_statements(org, deal.pk, [services.Document("harbor.csv", io.BytesIO(content), len(content))], created_by="seed")
print(deal.pk)
"""
TRANSACTIONS = """
import json
from deals.models import Deal, Transaction
deal = Deal.objects.get(pk={deal_id})
rows = Transaction.objects.filter(deal=deal).order_by("date", "position")
print(json.dumps({{"ids": [t.pk for t in rows], "flags": deal.flags,
    "evidence": {{d["code"]: [i["id"] for i in d["evidence"].get("transactions", [])] for d in deal.flag_details}}}}))
"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server() -> Iterator[tuple[Stack, str]]:
    with embedded_stack() as stack:
        base = stack.start_web("uvicorn", port=free_port())
        stack.manage("shell", "-c", SEED)
        yield stack, base


def seed_known_deal(stack: Stack) -> int:
    return int(
        manage({**stack.env, "JOB_RUNNER": "inline"}, "shell", "-c", KNOWN_DEAL).strip().splitlines()[-1]
    )


def stored(stack: Stack, deal_id: int) -> dict[str, Any]:
    import json

    return json.loads(
        stack.manage("shell", "-c", TRANSACTIONS.format(deal_id=deal_id)).strip().splitlines()[-1]
    )


def listed(page: Any) -> list[int]:
    return [
        int(i)
        for i in page.eval_on_selector_all(
            "#transaction-table tbody tr", "rows => rows.map(r => r.dataset.transactionId)"
        )
    ]


def cell(page: Any, transaction_id: int, name: str) -> str:
    return page.inner_text(
        f'#transaction-table tr[data-transaction-id="{transaction_id}"] [data-field="{name}"]'
    )


def test_flags_filters_and_a_correction_followed_live_by_other_tabs(
    chromium: Any, server: tuple[Stack, str], tmp_path: Path
) -> None:
    stack, base = server
    deal_id = seed_known_deal(stack)
    truth = stored(stack, deal_id)
    everything = truth["ids"]
    deal_url = f"{base}/deals/{deal_id}"

    context = chromium.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
    page = log_in(context, base)
    page.goto(deal_url)
    wait_live(page)
    assert listed(page) == everything
    assert page.inner_text("#transactions-summary").startswith(
        f"1–{len(everything)} of {len(everything)} transactions"
    )

    # Every flag opens onto the transactions behind it, and they include its evidence.
    assert set(truth["flags"]) == {"nsf", "negative_balance", "low_revenue"}
    for code in truth["flags"]:
        page.click(f'[data-flag-transactions="{code}"]')
        page.wait_for_url(re.compile(r"\?.*#transactions$"))
        shown = listed(page)
        assert shown, code
        assert set(truth["evidence"].get(code, [])) <= set(shown), code
        if code == "nsf":
            assert shown == truth["evidence"]["nsf"]
            assert cell(page, shown[0], "description") == "NSF FEE"
            assert page.input_value("#tx-flag") == "nsf"
        if code == "negative_balance":
            assert all(Decimal(cell(page, i, "balance").replace(",", "")) < 0 for i in shown)
        page.goto(deal_url)

    # The filters, one at a time, then together with a search.
    page.select_option("#tx-category", "lender_repayment")
    page.click("#transaction-filters button[type=submit]")
    page.wait_for_url(re.compile(r"category=lender_repayment"))
    assert len(listed(page)) == 3
    assert {cell(page, i, "category") for i in listed(page)} == {"Lender repayment"}
    page.click("#transaction-filters >> text=Clear")
    page.select_option("#tx-month", "2024-02")
    page.fill("#tx-q", "stripe")
    page.click("#transaction-filters button[type=submit]")
    page.wait_for_url(re.compile(r"month=2024-02"))
    assert [cell(page, i, "description") for i in listed(page)] == ["CARD SETTLEMENT STRIPE"]
    assert "matching the filters" in page.inner_text("#transactions-summary")

    # A second tab on the deal and a third on the deal list follow what the first one does.
    watcher = context.new_page()
    watcher.goto(deal_url)
    wait_live(watcher)
    mark_no_reload(watcher)
    queue = context.new_page()
    queue.goto(base + "/")
    wait_live(queue)
    mark_no_reload(queue)
    flags_cell = f'#deal-rows tr[data-deal-id="{deal_id}"] [data-cell="flags"]'
    assert "Insufficient funds (NSF)" in queue.inner_text(flags_cell)
    score_before = watcher.inner_text("#deal-score .score__value")

    # The first deposit is a loan, not sales: the first tab says so, with a reason.
    first = everything[0]
    page.goto(deal_url)
    wait_live(page)
    row = f'#transaction-table tr[data-transaction-id="{first}"]'
    page.click(f"{row} summary")
    page.fill(f"#reason-{first}", "a loan, not sales")
    page.click(f"{row} [data-correct-revenue]")
    page.wait_for_selector(".messages >> text=is no longer counted as revenue")
    assert cell(page, first, "counted") == "Not counted"

    january = '#chart-revenue g[data-month="2024-01"] rect[data-series="revenue"]'
    corrected = Decimal(known.MONTHS["2024-01"]["revenue"]) - Decimal(known.ROWS[0][2])
    watcher.wait_for_function(
        "([selector, value]) => document.querySelector(selector)?.dataset.value === value",
        arg=[january, f"{corrected:.2f}"],
    )
    watcher.wait_for_function(
        "(id) => document.querySelector(`#transaction-table tr[data-transaction-id='${id}'] [data-field=counted]`)?.textContent === 'Not counted'",
        arg=first,
    )
    assert watcher.inner_text("#deal-score .score__value") != score_before
    rescored = watcher.inner_text('#event-log li[data-type="deal.rescored"]')
    assert "uw@harbor.example" in rescored
    assert "a loan, not sales" in rescored
    assert still_same_document(watcher)
    page.bring_to_front()  # a background tab gets no animation frames, which a screenshot waits for
    page.click(f"{row} summary")  # the correction form, open, as the picture shows it
    page.locator("#transactions").screenshot(path=str(screenshot_path("deal-transactions.png", tmp_path)))

    # The statement was the wrong one: remove it, with a confirmation.
    page.click("#statement-details [data-field=remove] summary")
    page.click("#statement-details [data-remove-statement]")
    page.wait_for_selector(".messages >> text=harbor.csv was removed from the deal")
    watcher.wait_for_function("() => document.querySelector('#deal-charts') === null")
    watcher.wait_for_selector("#transactions-summary >> text=No transactions yet")
    assert watcher.query_selector("#statements [data-statement-id]") is None
    assert watcher.query_selector("[data-accept-proposal]") is None
    assert still_same_document(watcher)
    # The deal list's flags column follows too.
    queue.wait_for_function(
        "(selector) => !document.querySelector(selector).textContent.includes('NSF')", arg=flags_cell
    )
    assert still_same_document(queue)
    context.close()


def test_the_transactions_table_stacks_on_a_phone(
    chromium: Any, server: tuple[Stack, str], tmp_path: Path
) -> None:
    stack, base = server
    deal_id = seed_known_deal(stack)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, reduced_motion="reduce")
    page = log_in(context, base)
    page.goto(f"{base}/deals/{deal_id}?flag=negative_balance#transactions")
    wait_live(page)
    first = page.locator("#transaction-table tbody tr").first
    # One block per transaction, each value under its column name.
    assert (
        page.evaluate("() => getComputedStyle(document.querySelector('#transaction-table tbody tr')).display")
        == "block"
    )
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector('#transaction-table td[data-label=Amount]'), '::before').content"
        )
        == '"Amount: "'
    )
    assert first.bounding_box()["width"] <= 390
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.locator("#transactions").screenshot(
        path=str(screenshot_path("deal-transactions-phone.png", tmp_path))
    )
    context.close()


def test_a_picture_is_refused_at_upload_with_what_to_export_instead(
    chromium: Any, server: tuple[Stack, str]
) -> None:
    stack, base = server
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = log_in(context, base)
    page.fill("#id_business_name", "Photo Finish Ltd")
    page.click("text=Create deal")
    page.wait_for_url(re.compile(r"/deals/\d+$"))
    wait_live(page)
    page.set_input_files(
        "#statement-files",
        files=[
            {"name": "IMG_0412.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64}
        ],
    )
    status = page.locator("#upload-status.upload__status--error")
    status.wait_for()
    assert status.inner_text().startswith("IMG_0412.png is a PNG picture, not a bank statement.")
    assert "CSV or OFX/QFX" in status.inner_text()
    assert page.get_attribute("#upload-status", "aria-live") == "polite"
    assert page.query_selector("#statements [data-statement-id]") is None
    deal_id = int(page.url.rsplit("/", 1)[-1])
    count = stack.manage(
        "shell",
        "-c",
        f"from deals.models import Statement; print(Statement.objects.filter(deal_id={deal_id}).count())",
    )
    assert count.strip().splitlines()[-1] == "0"
    context.close()


def test_a_rejected_proposal_disappears_from_another_tab(chromium: Any, server: tuple[Stack, str]) -> None:
    stack, base = server
    deal_id = seed_known_deal(stack)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = log_in(context, base)
    page.goto(f"{base}/deals/{deal_id}")
    wait_live(page)
    other = context.new_page()
    other.goto(f"{base}/deals/{deal_id}")
    wait_live(other)
    mark_no_reload(other)
    assert other.query_selector("#proposal [data-accept-proposal]") is not None

    page.click("#proposal >> text=Reject suggestion")
    page.wait_for_selector(".messages >> text=Proposal rejected")
    other.wait_for_function("() => document.querySelector('#proposal') === null")
    assert "The suggestion was rejected by uw@harbor.example" in other.inner_text("#deal-review")
    assert other.query_selector("[data-accept-proposal]") is None
    # The decision stays the underwriter's own, and the log says who rejected it.
    assert other.query_selector(".decision-form") is not None
    assert "uw@harbor.example rejected the suggested decision" in other.inner_text("#event-log")
    assert still_same_document(other)
    context.close()
