"""The `dealstream` command, run as a real process (`python -m dealstream`) against a fake server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.stack import ROOT, free_port

pytestmark = pytest.mark.timeout(60)

KEY = "dsk_test_cli"


def run(
    server_url: str, *args: str, key: str | None = KEY, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    env = cli_env(server_url, key)
    return subprocess.run(
        [sys.executable, "-m", "dealstream", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def cli_env(server_url: str, key: str | None = KEY) -> dict[str, str]:
    """The command's environment: this checkout's client, whatever copy is installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALSTREAM_")}
    env["PYTHONPATH"] = str(ROOT / "client" / "src")
    env["DEALSTREAM_BASE_URL"] = server_url
    if key:
        env["DEALSTREAM_API_KEY"] = key
    return env


def job_feed(ex, job_id="job_1", outcome="completed"):
    ex.start_stream()
    ex.event(
        "status", {"job_id": job_id, "status": "started", "timestamp": "2026-11-21T10:00:00+00:00"}, id=1
    )
    ex.event("progress", {"job_id": job_id, "progress": 0.4, "message": "parsing"}, id=2)
    if outcome == "completed":
        ex.event(
            "completed", {"job_id": job_id, "status": "completed", "results": {"transactions": 12}}, id=3
        )
    else:
        ex.event("failed", {"job_id": job_id, "status": "failed", "error": "Unsupported file format"}, id=3)
    ex.event("usage", {"job_id": job_id, "monthly_used": 1}, id=4)
    ex.finish()


def test_watch_prints_readable_lines_and_ends_with_the_job(serve):
    server = serve(lambda ex, n: job_feed(ex))
    result = run(server.url, "watch", "job", "job_1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert " #1  status " in lines[0]
    assert "status=started" in lines[0]
    assert "progress=0.4 message=parsing" in lines[1]
    assert 'results={"transactions":12}' in lines[2]
    assert "timestamp" not in result.stdout  # shown as the line's clock instead
    assert server.requests[0].path == "/api/v1/jobs/job_1/stream"


def test_watch_json_prints_one_event_per_line(serve):
    server = serve(lambda ex, n: job_feed(ex))
    result = run(server.url, "watch", "job", "job_1", "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["id"], e["type"]) for e in events] == [
        ("1", "status"),
        ("2", "progress"),
        ("3", "completed"),
        ("4", "usage"),
    ]
    assert events[1]["data"]["progress"] == 0.4


def test_watch_resumes_after_last_event_id(serve):
    server = serve(lambda ex, n: ex.empty(204))
    result = run(server.url, "watch", "batch", "batch_1", "--last-event-id", "42")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert server.requests[0].headers["last-event-id"] == "42"


def test_an_api_error_exits_1_with_the_request_id(serve):
    server = serve(lambda ex, n: ex.error(404, "not_found", "No such deal."))
    result = run(server.url, "watch", "deal", "9")
    assert result.returncode == 1
    assert "No such deal." in result.stderr
    assert "request id req_srv" in result.stderr
    assert result.stdout == ""


def test_an_unreachable_server_exits_1():
    url = f"http://127.0.0.1:{free_port()}"
    result = run(url, "usage")
    assert result.returncode == 1
    assert f"Cannot reach {url}: connection refused" in result.stderr


def test_it_says_once_that_a_feed_cannot_reach_the_server_while_it_retries():
    url = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "dealstream", "watch", "org"],
        env=cli_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first == f"dealstream: Cannot reach {url}: connection refused; retrying (Ctrl-C to stop)\n"
        time.sleep(4)  # past the first reconnection delay: the next failures stay quiet
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130
        assert "Cannot reach" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("args", [("watch", "org"), ("watch", "job", "job_1"), ("deals", "list")])
def test_no_retry_exits_1_at_once_when_the_server_cannot_be_reached(args):
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run(url, "--no-retry", *args)
    assert result.returncode == 1
    assert f"error: Cannot reach {url}: connection refused" in result.stderr
    assert time.monotonic() - started < 10


def deals_server(ex, n):
    """A deal API: create answers 201, decide answers the decided deal, list has two pages."""
    deal = {
        "id": 7,
        "business_name": "Acme Bakery",
        "status": "under_review",
        "health_score": 72.5,
        "amount_requested": "25000.00",
        "flags": ["nsf_events"],
        "statements": [{"id": 3, "status": "completed", "filename": "march.csv"}],
        "proposal": {
            "change_id": "ch_1",
            "status": "open",
            "proposed": {"decision": "approved"},
            "explanation": "Score 72.5 is at least 60.",
        },
    }
    path, method, query = ex.request.path, ex.request.method, ex.request.query
    if method == "POST" and path == "/api/v1/deals":
        ex.json(201, {**deal, "status": "new", "health_score": None, "statements": [], "proposal": None})
    elif method == "POST" and path == "/api/v1/deals/7/decision":
        decided = {"decision": "declined", "note": ex.request.json()["note"], "decided_by": "api_key:cli"}
        ex.json(200, {**deal, "status": "declined", "proposal": None, "decision": decided})
    elif path == "/api/v1/deals" and query.get("page") == ["2"]:
        ex.json(200, {"results": [{**deal, "id": 6, "business_name": "Zed Cafe"}], "next": None})
    elif path == "/api/v1/deals":
        ex.json(200, {"results": [deal], "next": "http://elsewhere.example/api/v1/deals?page=2"})
    elif path == "/api/v1/deals/7":
        ex.json(200, deal)
    else:
        ex.error(404, "not_found", "No such thing.")


def test_deals_create_list_show_and_decide(serve):
    server = serve(deals_server)
    created = run(server.url, "deals", "create", "Acme Bakery", "--amount", "25000", "--ref", "crm-1")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("Deal 7 (Acme Bakery): health score n/a, status new")
    assert server.requests[0].json() == {
        "business_name": "Acme Bakery",
        "amount_requested": "25000",
        "external_ref": "crm-1",
    }
    listed = run(server.url, "deals", "list", "--status", "under_review", "--search", "Ac")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert [[*row.split()[:4], row.split("  ")[-1].strip()] for row in rows] == [
        ["7", "under_review", "72.5", "25000.00", "Acme Bakery"],
        ["6", "under_review", "72.5", "25000.00", "Zed Cafe"],
    ]
    assert server.requests[1].query == {"status": ["under_review"], "search": ["Ac"]}
    assert server.requests[2].query == {"page": ["2"]}
    shown = run(server.url, "deals", "show", "7")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "Deal 7 (Acme Bakery): health score 72.5, status under_review",
        "  flag: nsf_events",
        "  amount requested: 25000.00",
        "  statement 3: march.csv (completed)",
        "  proposal ch_1: approved. Score 72.5 is at least 60.",
    ]
    decided = run(server.url, "deals", "decide", "7", "declined", "--note", "Too many lenders", "--json")
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout)["decision"]["note"] == "Too many lenders"
    assert server.requests[-1].json() == {"decision": "declined", "note": "Too many lenders"}


def test_deals_show_of_a_missing_deal_exits_1(serve):
    server = serve(deals_server)
    result = run(server.url, "deals", "show", "99")
    assert result.returncode == 1
    assert "No such thing." in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("watch",),
        ("watch", "deal"),
        ("watch", "deal", "abc"),
        ("watch", "org", "5"),
        ("watch", "everything"),
        ("upload", "7"),
        ("valuate",),
        ("usage", "--bogus"),
    ],
)
def test_usage_errors_exit_2(args):
    result = run("http://127.0.0.1:9", *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_a_missing_api_key_is_a_usage_error():
    result = run("http://127.0.0.1:9", "usage", key=None)
    assert result.returncode == 2
    assert "DEALSTREAM_API_KEY" in result.stderr


def test_usage_prints_the_months_usage(serve):
    usage = {"monthly_used": 12, "monthly_limit": 500, "monthly_remaining": 488, "subscription_tier": "free"}
    server = serve(lambda ex, n: ex.json(200, usage))
    result = run(server.url, "usage")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "12 of 500 jobs used this month (488 left, free tier)"
    assert json.loads(run(server.url, "usage", "--json").stdout) == usage


def test_ctrl_c_exits_130(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("deal.created", {"deal_id": 1, "business_name": "Acme"}, id=1)
        ex.idle(30)

    server = serve(script)
    env = cli_env(server.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "dealstream", "watch", "org"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test run started in the background (nohup, `&` in a script) inherits SIGINT
        # ignored, and Python then keeps ignoring it: give the command a terminal's default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()  # the event arrived: the stream is open
        assert "deal.created" in first
        assert "business_name=Acme" in first
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130
        assert "Traceback" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()


def upload_server(outcomes: dict[str, str]):
    """Statements become job_1, job_2...; each job's feed ends as `outcomes` says."""

    def script(ex, n):
        path = ex.request.path
        if path.endswith("/statements"):
            name = "job_1" if b"march.csv" in ex.request.body else "job_2"
            ex.json(202, {"statement_id": int(name[-1]), "job_id": name, "status": "queued"})
        elif path.endswith("/stream"):
            job_id = path.split("/")[-2]
            job_feed(ex, job_id, outcomes[job_id])
        else:
            deal = {"id": 7, "business_name": "Acme Bakery", "status": "under_review", "health_score": 72.5}
            ex.json(200, {**deal, "flags": ["nsf_events"]})

    return script


@pytest.fixture
def statements(tmp_path: Path) -> list[Path]:
    march, april = tmp_path / "march.csv", tmp_path / "april.ofx"
    march.write_text("date,description,amount\n2026-03-01,Sale,100.00\n")
    april.write_text("OFXHEADER:100\n")
    return [march, april]


def test_upload_follows_each_statement_then_prints_the_health_score(serve, statements):
    server = serve(upload_server({"job_1": "completed", "job_2": "completed"}))
    result = run(server.url, "upload", "7", *map(str, statements))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    march = [line for line in lines if line.startswith("march.csv")]
    april = [line for line in lines if line.startswith("april.ofx")]
    assert march[-1].endswith("100%  completed")
    assert april[-1].endswith("100%  completed")
    assert any("40%  parsing" in line for line in march)
    assert lines[-2] == "Deal 7 (Acme Bakery): health score 72.5, status under_review"
    assert lines[-1] == "  flag: nsf_events"
    assert sorted(r.path for r in server.requests if r.method == "POST") == ["/api/v1/deals/7/statements"] * 2


def test_upload_exits_1_when_a_statement_fails(serve, statements):
    server = serve(upload_server({"job_1": "completed", "job_2": "failed"}))
    result = run(server.url, "upload", "7", *map(str, statements))
    assert result.returncode == 1
    assert "april.ofx: Unsupported file format" in result.stderr
    assert "health score 72.5" in result.stdout


def test_upload_json_prints_one_line_per_job_event_then_the_deal(serve, statements):
    server = serve(upload_server({"job_1": "completed", "job_2": "failed"}))
    result = run(server.url, "upload", "7", "--json", *map(str, statements))
    assert result.returncode == 1
    assert "april.ofx: Unsupported file format" in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    events = lines[:-1]
    assert {line["file"] for line in events} == {"march.csv", "april.ofx"}
    assert {(line["file"], line["job_id"]) for line in events} == {
        ("march.csv", "job_1"),
        ("april.ofx", "job_2"),
    }
    march = [(line["id"], line["type"]) for line in events if line["file"] == "march.csv"]
    assert march == [("1", "status"), ("2", "progress"), ("3", "completed"), ("4", "usage")]
    april = [line for line in events if line["file"] == "april.ofx"]
    assert april[2]["data"] == {"job_id": "job_2", "status": "failed", "error": "Unsupported file format"}
    assert lines[-1] == {
        "type": "deal",
        "data": {
            "id": 7,
            "business_name": "Acme Bakery",
            "status": "under_review",
            "health_score": 72.5,
            "flags": ["nsf_events"],
        },
    }


def test_upload_of_a_missing_file_is_a_usage_error(serve, tmp_path):
    server = serve(upload_server({}))
    result = run(server.url, "upload", "7", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert server.requests == []


VALUATION = {
    "productId": "prod_1",
    "priceFairnessScore": 71,
    "resalePotentialScore": 64,
    "circularity": {
        "circularImpactScore": 58,
        "materialLoopScore": 50,
        "durabilityScore": 70,
        "reparabilityScore": 40,
        "recyclabilityScore": 60,
        "takebackAvailable": True,
        "tokens": ["brand_takeback_program"],
    },
    "explanations": ["Priced within the category band."],
    "fairPriceRange": {"min": 90, "max": 130, "currency": "EUR"},
    "generatedAt": "2026-11-21T10:00:00Z",
    "version": "2026.11.1",
}


def valuation_feed(ex, n, ok=True):
    ex.start_stream()
    ex.event("start", {"type": "start"})
    ex.event(
        "progress", {"type": "progress", "progress": 40, "stage": "materials", "message": "Scoring materials"}
    )
    ex.event("partial", {"type": "partial", "stage": "materials", "materialLoopScore": 50})
    if ok:
        ex.event("complete", {"type": "complete", "valuation": VALUATION, "price_min": 90, "price_max": 130})
    else:
        ex.event(
            "error", {"type": "error", "code": "product_not_found", "message": "No product on that page"}
        )
    ex.finish()


def test_valuate_streams_progress_then_the_scores(serve, tmp_path):
    product = tmp_path / "coat.json"
    product.write_text(json.dumps({"brand": "Acme", "name": "Coat", "price": 120, "currency": "EUR"}))
    server = serve(valuation_feed)
    result = run(server.url, "valuate", "--url", "https://shop.test/coat", "--product", str(product))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert " 40%  Scoring materials" in out
    assert "Price fairness      71/100" in out
    assert "Fair price          90–130 EUR" in out
    assert "  - Priced within the category band." in out
    assert server.requests[0].json() == {
        "url": "https://shop.test/coat",
        "overrideProduct": {"brand": "Acme", "name": "Coat", "price": 120, "currency": "EUR"},
    }


def test_valuate_takes_a_whole_request_body_as_product(serve, tmp_path):
    body = {"url": "https://shop.test/coat", "overrideProduct": {"name": "Coat", "price": 120}}
    product = tmp_path / "request.json"
    product.write_text(json.dumps(body))
    server = serve(valuation_feed)
    result = run(server.url, "valuate", "--product", str(product), "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["type"] for e in events] == ["start", "progress", "partial", "complete"]
    assert events[-1]["data"]["valuation"]["priceFairnessScore"] == 71
    assert server.requests[0].json() == body


def test_valuate_needs_a_url(serve, tmp_path):
    product = tmp_path / "coat.json"
    product.write_text(json.dumps({"name": "Coat", "price": 120}))
    result = run("http://127.0.0.1:9", "valuate", "--product", str(product))
    assert result.returncode == 2
    assert "--url" in result.stderr


def test_a_failed_valuation_exits_1(serve):
    server = serve(lambda ex, n: valuation_feed(ex, n, ok=False))
    result = run(server.url, "valuate", "--url", "https://shop.test/none")
    assert result.returncode == 1
    assert "No product on that page" in result.stderr


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "dealstream"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.strip().startswith("dealstream ")


def test_help_lists_the_commands():
    started = time.monotonic()
    result = run("http://127.0.0.1:9", "--help")
    assert result.returncode == 0
    for command in ("deals", "watch", "upload", "valuate", "usage"):
        assert command in result.stdout
    assert time.monotonic() - started < 10


def test_verbose_logs_reconnections_to_stderr(serve):
    def script(ex, n):
        if n == 0:
            ex.start_stream()
            ex.event("status", {"job_id": "job_1", "status": "started"}, id=1)
            ex.abort()
        else:
            ex.empty(204)

    server = serve(script)
    result = run(server.url, "-v", "watch", "job", "job_1")
    assert result.returncode == 0, result.stderr
    assert "reconnecting in" in result.stderr
    assert "Last-Event-ID '1'" in result.stderr
    assert "HTTP Request" not in result.stderr
