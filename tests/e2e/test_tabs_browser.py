"""Many tabs of the dashboard in one Chromium over plain HTTP/1.1, sharing one connection.

Browsers open at most six HTTP/1.1 connections per host: with one feed per tab the seventh
tab would hang. The tabs share one organisation feed through a SharedWorker instead, so ten
tabs (deal pages, the deal list, the activity feed) are all live on a single stream, every
tab gets every event of its page once, a tab opened late catches up exactly, and a killed
server shows every tab "Reconnecting…" and then the events published while it was down.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import urllib.request

import pytest

from tests.e2e.stack import PYTHON, ROOT, Stack, manage
from tests.e2e.test_dashboard_browser import (
    ORG,
    TIMEOUT_MS,
    browser,  # noqa: F401 - the module-scoped Chromium, shared as a fixture
    log_in,
    mark_no_reload,
    org_feed_ids,
    served,  # noqa: F401 - the web process, shared as a fixture
    shown_event_ids,
    still_same_document,
    wait_live,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# Two deals under review (their statements processed inline), ready for a decision.
TWO_DEALS = f"""
import io
from accounts.models import Organization
from deals import services
from tests.jobs.factories import healthy_csv
org = Organization.objects.get(name={ORG!r})
for name in ("North Pier Cafe", "South Pier Cafe"):
    deal = services.create_deal(org, business_name=name, created_by="seed")
    services.add_statements(org, deal.pk, [services.Document("june.csv", io.BytesIO(healthy_csv()), 1)], created_by="seed")
    print(deal.pk)
"""


def decide(deal_id: int, outcome: str, note: str) -> str:
    return (
        f"from accounts.models import Organization; from deals import services; "
        f"services.decide(Organization.objects.get(name={ORG!r}), {deal_id}, {outcome!r}, "
        f"note={note!r}, decided_by='ops@harbor.example')"
    )


def create_deals(names: list[str], pause: float = 0.0) -> str:
    return (
        f"import time; from accounts.models import Organization; from deals import services\n"
        f"org = Organization.objects.get(name={ORG!r})\n"
        f"for name in {names!r}:\n"
        f"    services.create_deal(org, business_name=name, created_by='ops')\n"
        f"    time.sleep({pause})\n"
    )


def deal_feed_ids(stack: Stack, deal_id: int) -> list[int]:
    output = stack.manage(
        "shell",
        "-c",
        "import json; from events.models import Event; "
        f"print(json.dumps(list(Event.objects.filter(organization__name={ORG!r}, deal_id={deal_id})"
        ".values_list('id', flat=True))))",
    )
    return json.loads(output.strip().splitlines()[-1])


def open_streams(base: str) -> dict[str, float]:
    """The server's open SSE streams per feed (its /metrics, which loopback clients may read)."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.findall(r'^dealstream_open_streams\{feed="([a-z]+)"\} ([0-9.e+]+)$', text, re.MULTILINE)
    return {feed: float(value) for feed, value in found}


def wait_streams(base: str, page, expected: dict[str, float]) -> None:
    """Until the server holds exactly `expected` open streams (others zero)."""
    for _ in range(100):
        shown = {feed: value for feed, value in open_streams(base).items() if value}
        if shown == expected:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"open streams {shown}, expected {expected}")


def new_tab(context, url: str):
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    wait_live(page)
    mark_no_reload(page)
    return page


def test_ten_tabs_share_one_stream_and_stay_exact(browser, served):  # noqa: F811
    stack, base, port = served
    output = manage({**stack.env, "JOB_RUNNER": "inline"}, "shell", "-c", TWO_DEALS)
    north, south = (int(line) for line in output.strip().splitlines()[-2:])

    context = browser.new_context(viewport={"width": 1024, "height": 700})
    first = log_in(context, base)
    wait_live(first)
    mark_no_reload(first)
    urls = (
        [f"{base}/deals/{north}"] * 3
        + [f"{base}/deals/{south}"] * 3
        + [base + "/activity"] * 2
        + [base + "/"]
    )
    tabs = [first] + [new_tab(context, url) for url in urls]
    assert len(tabs) == 10
    for tab in tabs:
        assert tab.inner_text("[data-live-status]").strip() == "Live"
    # One stream for the whole browser: the organisation's, none per deal.
    wait_streams(base, first, {"org": 1})
    north_tabs, south_tabs, activity_tabs, list_tabs = tabs[1:4], tabs[4:7], tabs[7:9], [tabs[0], tabs[9]]

    # Published after the tabs went live: each tab gets what its page shows.
    stack.manage(
        "shell", "-c", decide(north, "approved", "Ten tabs") + "\n" + create_deals(["Tenth Tab Bakery"])
    )
    for tab in north_tabs:
        tab.wait_for_selector('#event-log [data-type="deal.decision"]')
        tab.wait_for_selector("#decision-outcome")
    for tab in activity_tabs:
        tab.wait_for_selector('#activity [data-type="deal.decision"]')
        tab.wait_for_selector("#activity >> text=Tenth Tab Bakery")
    for tab in list_tabs:
        tab.wait_for_selector("#deal-rows tr:has-text('Tenth Tab Bakery')")
        tab.wait_for_function(
            f"() => document.querySelector('#deal-rows tr[data-deal-id=\"{north}\"] [data-status-badge]')"
            ".dataset.status === 'approved'"
        )
    stack.manage("shell", "-c", decide(south, "declined", "Ten tabs too"))
    for tab in south_tabs:
        tab.wait_for_selector('#event-log [data-type="deal.decision"]')

    def assert_exact() -> None:
        north_ids, south_ids, org_ids = (
            deal_feed_ids(stack, north),
            deal_feed_ids(stack, south),
            org_feed_ids(stack),
        )
        for tab in north_tabs:
            assert sorted(shown_event_ids(tab, "#event-log")) == north_ids  # its deal's only, once each
        for tab in south_tabs:
            assert sorted(shown_event_ids(tab, "#event-log")) == south_ids
        for tab in activity_tabs:
            ids = shown_event_ids(tab, "#activity")
            assert ids == sorted(ids, reverse=True)
            assert sorted(ids) == org_ids
        for tab in tabs:
            assert still_same_document(tab)

    for tab in south_tabs:
        tab.wait_for_function(
            f"() => document.querySelectorAll('#event-log > li').length === {len(deal_feed_ids(stack, south))}"
        )
    assert_exact()

    # A tab opened while deals are being created catches up exactly; closing tabs meanwhile
    # leaves the others live.
    names = [f"Queue Deal {number}" for number in range(20)]
    publisher = subprocess.Popen(
        [PYTHON, "manage.py", "shell", "-c", create_deals(names, 0.15)], env=stack.env, cwd=ROOT
    )
    late = new_tab(context, base + "/activity")
    for tab in (tabs.pop(9), tabs.pop(6)):
        tab.close()
    late_deal = new_tab(context, f"{base}/deals/{north}")
    assert publisher.wait(timeout=120) == 0
    activity_tabs.append(late)
    north_tabs.append(late_deal)
    tabs.extend([late, late_deal])
    south_tabs = south_tabs[:2]
    for tab in activity_tabs:
        tab.wait_for_selector("#activity >> text=Queue Deal 19")
    for tab in tabs:
        assert tab.inner_text("[data-live-status]").strip() == "Live"
    wait_streams(base, first, {"org": 1})
    assert_exact()

    # The server is killed: every tab says so, and catches up when it is back.
    web = next(process for process in stack.processes if process.name.startswith("web-"))
    web.stop(signal.SIGKILL)
    for tab in tabs:
        tab.wait_for_selector("[data-live-status][data-state=reconnecting]")
        assert tab.inner_text("[data-live-status]").strip() == "Reconnecting…"
    stack.manage("shell", "-c", create_deals(["Made While Killed"]))
    stack.start_web("uvicorn", port=port)
    for tab in tabs:
        wait_live(tab)
    for tab in activity_tabs:
        tab.wait_for_selector("#activity >> text=Made While Killed")
    assert_exact()
    wait_streams(base, first, {"org": 1})

    # The last tab to leave closes the shared stream.
    for tab in tabs:
        tab.close()
    wait_streams(base, first, {})
    context.close()


def hold_script(page) -> None:
    """Serve this page's dashboard.js so that it runs only when the test says so."""

    def wrapped(route) -> None:
        original = route.fetch()
        body = 'window.addEventListener("ds-release", function () {\n' + original.text() + "\n});\n"
        route.fulfill(response=original, body=body)

    page.route("**/dashboard/dashboard.js", wrapped)


def test_a_tab_behind_the_shared_stream_gets_what_it_missed(browser, served):  # noqa: F811
    stack, base, _ = served
    context = browser.new_context()
    login = log_in(context, base)
    wait_live(login)
    login.close()  # no tab left: the next one to join opens the shared stream afresh

    behind = context.new_page()
    behind.set_default_timeout(TIMEOUT_MS)
    hold_script(behind)
    behind.goto(base + "/activity")  # rendered with the cursor of now, not yet connected
    mark_no_reload(behind)
    stack.manage("shell", "-c", create_deals(["Missed By The Slow Tab", "Also Missed"]))
    ahead = new_tab(context, base + "/activity")  # the stream starts after those two deals
    assert "Missed By The Slow Tab" in ahead.inner_text("#activity")  # rendered, not streamed
    assert "Missed By The Slow Tab" not in behind.inner_text("#activity")

    behind.evaluate("() => window.dispatchEvent(new Event('ds-release'))")
    wait_live(behind)
    behind.wait_for_selector("#activity >> text=Also Missed")
    stack.manage("shell", "-c", create_deals(["Seen By Both"]))
    for tab in (behind, ahead):
        tab.wait_for_selector("#activity >> text=Seen By Both")
        ids = shown_event_ids(tab, "#activity")
        assert ids == sorted(ids, reverse=True)
        assert sorted(ids) == org_feed_ids(stack)  # the replay for the slow tab reached no one twice
        assert still_same_document(tab)
    wait_streams(base, ahead, {"org": 1})
    context.close()


def test_without_shared_worker_each_tab_has_its_own_stream(browser, served):  # noqa: F811
    stack, base, _ = served
    output = manage({**stack.env, "JOB_RUNNER": "inline"}, "shell", "-c", TWO_DEALS)
    north = int(output.strip().splitlines()[-2])
    context = browser.new_context()
    # As on a browser without SharedWorker (Chrome on Android).
    context.add_init_script("delete window.SharedWorker;")
    first = log_in(context, base)
    wait_live(first)
    tabs = [first, new_tab(context, f"{base}/deals/{north}"), new_tab(context, base + "/activity")]
    wait_streams(base, first, {"org": 2, "deal": 1})
    stack.manage("shell", "-c", decide(north, "approved", "Own streams"))
    tabs[1].wait_for_selector('#event-log [data-type="deal.decision"]')
    tabs[2].wait_for_selector('#activity [data-type="deal.decision"]')
    first.wait_for_function(
        f"() => document.querySelector('#deal-rows tr[data-deal-id=\"{north}\"] [data-status-badge]')"
        ".dataset.status === 'approved'"
    )
    assert sorted(shown_event_ids(tabs[1], "#event-log")) == deal_feed_ids(stack, north)
    assert sorted(shown_event_ids(tabs[2], "#activity")) == org_feed_ids(stack)
    context.close()
