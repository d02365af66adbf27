"""The dashboard in a real browser (Debian's headless Chromium) against a real server.

An underwriter creates a deal, drops two statements, watches both progress bars and the
health score arrive without a reload, approves the proposal and sees the decision, while
the activity page in a second tab shows every step live. Then the server restarts on the
same port: the pages say "Reconnecting…", reconnect, and catch up with what was published
while the server was down, nothing missing, nothing twice.

`SAVE_SCREENSHOTS=1` writes docs/screenshots/deal.png and activity.png.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.stack import ROOT, Stack, embedded_stack, free_port, manage

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-pass-1"
ORG = "Harbor Lending"
SCREENSHOTS = ROOT / "docs" / "screenshots"
# Slow enough to see a statement mid-pipeline, fast enough for a short test.
STAGE_DELAY = "0.6"
TIMEOUT_MS = 30_000

SEED = f"""
from django.contrib.auth.models import User
from accounts.models import Membership, Organization
org, _ = Organization.objects.get_or_create(name={ORG!r})
for name, role in [("uw", "underwriter"), ("viewer", "viewer")]:
    user = User.objects.create_user(name, name + "@harbor.example", {PASSWORD!r})
    Membership.objects.create(user=user, organization=org, role=role)
"""


def statement_csv(month: int, *, deposit: str, nsf: bool = False) -> str:
    """A month of a small business account: card payouts, suppliers, rent, maybe an NSF fee."""
    rows = ["Date,Description,Amount,Balance"]
    balance = Decimal("9200.00")
    start = datetime.date(2024, month, 1)
    for offset in range(28):
        day = start + datetime.timedelta(days=offset)
        if day.weekday() < 5:
            balance += Decimal(deposit)
            rows.append(f"{day:%m/%d/%Y},CARD SETTLEMENT SQUARE,{deposit},{balance:.2f}")
        if offset % 7 == 2:
            balance -= Decimal("740.15")
            rows.append(f"{day:%m/%d/%Y},SYSCO FOOD SUPPLIES,-740.15,{balance:.2f}")
        if offset == 4:
            balance -= Decimal("2600.00")
            rows.append(f"{day:%m/%d/%Y},RENT HARBOR ST PROPERTIES,-2600.00,{balance:.2f}")
        if nsf and offset == 15:
            balance -= Decimal("35.00")
            rows.append(f"{day:%m/%d/%Y},NSF FEE,-35.00,{balance:.2f}")
    return "\n".join(rows) + "\n"


def screenshot_path(name: str, tmp_path: Path) -> Path:
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS / name
    return tmp_path / name


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served() -> Iterator[tuple[Stack, str, int]]:
    with embedded_stack(DEALSTREAM_TEST_STAGE_DELAY_SECONDS=STAGE_DELAY) as stack:
        port = free_port()
        base = stack.start_web("uvicorn", port=port)
        stack.manage("shell", "-c", SEED)
        yield stack, base, port


def log_in(context, base: str, username: str = "uw"):
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(base + "/login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def wait_live(page) -> None:
    page.wait_for_selector("[data-live-status][data-state=live]")


def mark_no_reload(page) -> None:
    """A flag that only survives if the page is never reloaded."""
    page.evaluate("window.__sameDocument = true")


def still_same_document(page) -> bool:
    return bool(page.evaluate("window.__sameDocument === true"))


def drop_files(page, selector: str, files: list[tuple[str, str]]) -> None:
    """Drag and drop, as a user would from their file manager."""
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, text] of files) transfer.items.add(new File([text], name, {type: "text/csv"}));
            return transfer;
        }""",
        files,
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def shown_event_ids(page, list_selector: str) -> list[int]:
    return [
        int(value)
        for value in page.eval_on_selector_all(
            f"{list_selector} > li", "items => items.map(i => i.dataset.eventId)"
        )
    ]


def org_feed_ids(stack: Stack) -> list[int]:
    """The org feed's events the activity page lists: every outcome, no progress steps."""
    output = stack.manage(
        "shell",
        "-c",
        "import json; from events.models import Event; from dashboard.presentation import PROGRESS_STEPS; "
        f"print(json.dumps(list(Event.objects.filter(organization__name={ORG!r}, in_org_feed=True)"
        ".exclude(type__in=PROGRESS_STEPS).values_list('id', flat=True))))",
    )
    return json.loads(output.strip().splitlines()[-1])


def test_an_underwriter_follows_a_deal_live_and_decides(browser, served, tmp_path):
    stack, base, _ = served
    # Reduced motion: the bars jump instead of sliding, so a screenshot matches its numbers.
    context = browser.new_context(viewport={"width": 1280, "height": 860}, reduced_motion="reduce")
    deal_page = log_in(context, base)

    activity = context.new_page()
    activity.set_default_timeout(TIMEOUT_MS)
    activity.goto(base + "/activity")
    wait_live(activity)
    mark_no_reload(activity)
    deals = context.new_page()
    deals.set_default_timeout(TIMEOUT_MS)
    deals.goto(base + "/")
    wait_live(deals)
    mark_no_reload(deals)

    # Create the deal.
    deal_page.fill("#id_business_name", "Harbor Street Bakery")
    deal_page.fill("#id_amount_requested", "45000")
    deal_page.fill("#id_external_ref", "HSB-2024-07")
    deal_page.click("text=Create deal")
    deal_page.wait_for_url(re.compile(r"/deals/\d+$"))
    wait_live(deal_page)
    mark_no_reload(deal_page)
    assert deal_page.inner_text("#deal-status") == "New"

    # Drop two statements on the page.
    drop_files(
        deal_page,
        "#dropzone",
        [
            ("harbor-january.csv", statement_csv(1, deposit="1480.00")),
            ("harbor-february.csv", statement_csv(2, deposit="1525.50", nsf=True)),
        ],
    )
    deal_page.wait_for_selector("#upload-status >> text=2 statements uploaded")
    bars = "#statements [role=progressbar]"
    # Predicates are functions: Playwright eval()s a bare expression in the page, which the
    # Content-Security-Policy refuses.
    deal_page.wait_for_function(f"() => document.querySelectorAll('{bars}').length === 2")
    for bar in deal_page.query_selector_all(bars):
        assert bar.get_attribute("aria-valuemin") == "0"
        assert bar.get_attribute("aria-valuemax") == "100"

    # Mid-processing: a bar between its first and last stage.
    deal_page.wait_for_function(
        f"() => [...document.querySelectorAll('{bars}')].some(b => +b.getAttribute('aria-valuenow') >= 50 && +b.getAttribute('aria-valuenow') < 100)"
    )
    assert deal_page.inner_text("#deal-status") == "Processing"
    deal_page.screenshot(path=str(screenshot_path("deal.png", tmp_path)))

    # Both bars reach 100 % and the score appears, without a reload.
    deal_page.wait_for_function(
        f"() => [...document.querySelectorAll('{bars}')].filter(b => b.getAttribute('aria-valuenow') === '100').length === 2"
    )
    deal_page.wait_for_function(
        "() => document.querySelector('#deal-score .score__value').textContent.trim() !== ''"
    )
    score = float(deal_page.inner_text("#deal-score .score__value"))
    assert 0 <= score <= 100
    assert deal_page.inner_text("#deal-score .score__label") in {"Strong", "Fair", "Weak"}
    names = deal_page.eval_on_selector_all(
        "#statements .statement__name", "items => items.map(i => i.textContent)"
    )
    assert sorted(names) == ["harbor-february.csv", "harbor-january.csv"]
    deal_page.wait_for_selector("#proposal")
    deal_page.wait_for_selector("#review-score")  # the assessment block arrived too
    assert "Insufficient funds (NSF)" in deal_page.inner_text("#deal-review")
    assert deal_page.inner_text("#deal-status") == "Under review"
    assert still_same_document(deal_page)
    log_text = deal_page.inner_text("#event-log")
    for phrase in ("Processing started", "Statement processed", "Status changed", "Decision proposed"):
        assert phrase in log_text

    # Approve the proposal and see the decision.
    proposed = deal_page.get_attribute("#proposal .badge", "class")
    decision = "Approved" if "approved" in proposed else "Declined"
    deal_page.click("[data-accept-proposal]")
    deal_page.wait_for_selector("#decision-outcome")
    assert decision in deal_page.inner_text("#decision-outcome")
    assert "uw@harbor.example" in deal_page.inner_text("#decision-outcome")
    assert deal_page.inner_text("#deal-status") == decision
    assert deal_page.query_selector("#upload-form") is None

    # The activity tab saw all of it live, newest first, without a reload.
    activity.bring_to_front()
    activity.wait_for_selector('#activity [data-type="deal.decision"]')
    assert still_same_document(activity)
    text = activity.inner_text("#activity")
    assert "created the deal “Harbor Street Bakery”" in text
    assert text.count("Statement processed") == 2
    assert "Decision proposed" in text
    assert f"{decision} by uw@harbor.example." in text
    types = activity.eval_on_selector_all("#activity > li", "items => items.map(i => i.dataset.type)")
    assert types[0] in {"deal.decision", "deal.status_changed"}
    assert types[-1] == "deal.created"
    ids = shown_event_ids(activity, "#activity")
    assert ids == sorted(ids, reverse=True)
    assert sorted(ids) == org_feed_ids(stack)  # nothing missing, nothing twice
    activity.screenshot(path=str(screenshot_path("activity.png", tmp_path)))

    # The deal list added the new deal and kept its badges current, without a reload.
    deals.bring_to_front()
    row = deals.wait_for_selector("#deal-rows tr:has-text('Harbor Street Bakery')")
    deals.wait_for_function(
        "() => document.querySelector('#deal-rows tr [data-status-badge]').dataset.status !== 'new'"
        " && document.querySelector('#deal-rows tr [data-status-badge]').dataset.status !== 'processing'"
        " && document.querySelector('#deal-rows tr [data-status-badge]').dataset.status !== 'under_review'",
        polling=200,
    )
    assert row.query_selector("[data-status-badge]").inner_text() == decision
    assert row.query_selector(".score__value").inner_text() == f"{score:.1f}"
    # The whole row, as a reload would render it.
    assert row.query_selector('[data-cell="statements"]').inner_text() == "2"
    assert row.query_selector('[data-cell="amount"]').inner_text() == "45,000.00"  # as a reload renders it
    assert "HSB-2024-07" in row.inner_text()
    assert still_same_document(deals)
    context.close()


def test_a_batch_page_counts_documents_and_shows_failures(browser, served):
    _, base, _ = served
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = log_in(context, base)
    page.fill("#id_business_name", "Pier 9 Seafood")
    page.click("text=Create deal")
    page.wait_for_url(re.compile(r"/deals/\d+$"))
    wait_live(page)
    page.set_input_files(
        "#statement-files",
        files=[
            {
                "name": "march.csv",
                "mimeType": "text/csv",
                "buffer": statement_csv(3, deposit="900.00").encode(),
            },
            {
                "name": "april.csv",
                "mimeType": "text/csv",
                "buffer": statement_csv(4, deposit="950.00").encode(),
            },
            # Text, so taken (a picture would refuse the whole upload), but no statement.
            {"name": "note.txt", "mimeType": "text/plain", "buffer": b"Scanned copy to follow by post\n"},
        ],
    )
    page.click("#upload-status >> text=Follow the batch")
    page.wait_for_url(re.compile(r"/batches/batch_"))
    page.wait_for_selector("#batch-summary >> text=Finished: 2 processed, 1 failed.")
    assert page.inner_text("#batch-count") == "3/3"
    bar = page.query_selector("#batch-bar")
    assert (bar.get_attribute("aria-valuenow"), bar.get_attribute("aria-valuemax")) == ("3", "3")
    failed = page.query_selector('tr[data-status="failed"]')
    assert failed is not None
    assert "note.txt" in failed.inner_text()
    assert failed.query_selector(".error-text").inner_text().strip()
    context.close()


def test_a_viewer_watches_without_controls(browser, served):
    stack, base, _ = served
    manage(
        {**stack.env, "JOB_RUNNER": "inline"},
        "shell",
        "-c",
        f"from accounts.models import Organization; from deals import services; "
        f"services.create_deal(Organization.objects.get(name={ORG!r}), business_name='Viewer Visible', created_by='x')",
    )
    context = browser.new_context()
    page = log_in(context, base, "viewer")
    page.click("text=Viewer Visible")
    wait_live(page)
    assert page.query_selector("#upload-form") is None
    assert page.query_selector("text=Create deal") is None
    assert "can follow this deal but not upload" in page.inner_text("main")
    context.close()


RESTART_SEED = f"""
import io
from accounts.models import Organization
from deals import services
from tests.jobs.factories import healthy_csv
org = Organization.objects.get(name={ORG!r})
deal = services.create_deal(org, business_name="Lighthouse Books", created_by="seed")
services.add_statements(org, deal.pk, [services.Document("may.csv", io.BytesIO(healthy_csv()), 1)], created_by="seed")
print(deal.pk)
"""

WHILE_DOWN = f"""
from accounts.models import Organization
from deals import services
from deals.models import Deal
org = Organization.objects.get(name={ORG!r})
deal = Deal.objects.get(business_name="Lighthouse Books")
services.create_deal(org, business_name="Made While Down", created_by="ops")
services.decide(org, deal.pk, "declined", note="Decided during the outage", decided_by="ops@harbor.example")
"""


def test_pages_reconnect_after_a_restart_and_catch_up(browser, served):
    stack, base, port = served
    # The seed runs its statement inline, so the deal is already under review.
    output = manage({**stack.env, "JOB_RUNNER": "inline"}, "shell", "-c", RESTART_SEED)
    deal_id = int(output.strip().splitlines()[-1])

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    deal_page = log_in(context, base)
    deal_page.goto(f"{base}/deals/{deal_id}")
    wait_live(deal_page)
    mark_no_reload(deal_page)
    activity = context.new_page()
    activity.set_default_timeout(TIMEOUT_MS)
    activity.goto(base + "/activity")
    wait_live(activity)
    mark_no_reload(activity)
    before = shown_event_ids(activity, "#activity")

    web = next(process for process in stack.processes if process.name.startswith("web-"))
    stopping = time.monotonic()
    web.stop(timeout=10)  # SIGTERM: the process ends the pages' streams and exits by itself
    assert web.popen.returncode != -signal.SIGKILL
    assert time.monotonic() - stopping < 10
    for page in (deal_page, activity):
        page.wait_for_selector("[data-live-status][data-state=reconnecting]")
        assert page.inner_text("[data-live-status]").strip() == "Reconnecting…"

    # Published while no web process is up: stored, to be replayed on reconnection.
    stack.manage("shell", "-c", WHILE_DOWN)

    stack.start_web("uvicorn", port=port)
    for page in (deal_page, activity):
        wait_live(page)
    activity.wait_for_selector('#activity [data-type="deal.decision"]')
    assert "Made While Down" in activity.inner_text("#activity")
    ids = shown_event_ids(activity, "#activity")
    assert len(ids) == len(set(ids))
    assert sorted(ids) == org_feed_ids(stack)  # the gap was filled, in order, once
    assert set(before) < set(ids)
    assert still_same_document(activity)

    deal_page.wait_for_selector("#decision-outcome")
    assert "Declined" in deal_page.inner_text("#decision-outcome")
    assert deal_page.inner_text("#deal-status") == "Declined"
    assert "Decision recorded" in deal_page.inner_text("#event-log")
    assert still_same_document(deal_page)
    context.close()


def unavailable_on(port: int) -> tuple[ThreadingHTTPServer, list[str]]:
    """A server on `port` that answers 503 to everything, recording the feed requests."""
    refused: list[str] = []

    class Unavailable(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/api/v1/events"):
                refused.append(self.path)
            body = b"upstream unavailable"
            self.send_response(503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, refused


def test_a_page_reconnects_by_itself_when_the_browser_gives_up(browser, served):
    """An error status makes EventSource stop for good (readyState CLOSED); the page then
    retries on its own, from the last event it applied."""
    stack, base, port = served
    context = browser.new_context()
    page = log_in(context, base)
    page.goto(base + "/activity")
    wait_live(page)
    mark_no_reload(page)
    before = shown_event_ids(page, "#activity")

    # A proxy in front of a restarting server: feed requests get 503 until it recovers. It
    # answers on the server's own port, so it sees the tabs' shared worker too (which
    # Playwright's routing does not).
    web = next(process for process in stack.processes if process.name.startswith("web-"))
    web.stop()
    proxy, refused = unavailable_on(port)
    page.wait_for_selector("[data-live-status][data-state=reconnecting]")
    manage(
        {**stack.env, "JOB_RUNNER": "inline"},
        "shell",
        "-c",
        f"from accounts.models import Organization; from deals import services; "
        f"services.create_deal(Organization.objects.get(name={ORG!r}), "
        "business_name='Published During The Outage', created_by='ops')",
    )
    # After a 503 the browser never retries by itself: further requests are the page's own.
    for _ in range(100):
        if len(refused) >= 3:
            break
        page.wait_for_timeout(200)
    assert len(refused) >= 3, refused
    assert page.get_attribute("[data-live-status]", "data-state") == "reconnecting"

    proxy.shutdown()
    proxy.server_close()
    stack.start_web("uvicorn", port=port)
    wait_live(page)
    page.wait_for_selector("#activity >> text=Published During The Outage")
    ids = shown_event_ids(page, "#activity")
    assert len(ids) == len(set(ids))
    assert sorted(ids) == org_feed_ids(stack)
    assert set(before) < set(ids)
    assert still_same_document(page)
    context.close()
