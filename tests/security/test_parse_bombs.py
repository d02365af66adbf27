"""Decompression and page-count bombs fail their own statement with a plain reason and harm nothing else.

The bombs are built here as raw PDF bytes: a content stream of ~200 MB of blanks deflated to ~200 KB,
and a 20,000-page document. They go through the parsing functions, the child-process reader, and
the whole product in both modes (embedded: jobs inside the uvicorn process; distributed: a real
Celery worker), where the peak memory (VmHWM) of the serving processes is measured and bounded.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from deals.parsing import StatementError, extract_document, parse_document
from deals.parsing.limits import MB, ParseLimits
from deals.parsing.sandbox import parse_statement_file
from tests.e2e.stack import Stack, distributed_stack, embedded_stack
from tests.jobs.factories import healthy_csv

# The serving process (uvicorn in embedded mode, a Celery worker's processes in distributed mode)
# must stay under this resident peak while the bombs are read; docs/security.md gives the figures.
SERVING_PROCESS_PEAK_MB = 400
INFLATED_BOMB_MB = 200
BOMB_PAGES = 20_000
LINE = b"BT /F1 10 Tf 72 700 Td (01/15/2024 ACH DEPOSIT STRIPE 1,250.00 5,430.10) Tj ET\n"


def pdf(objects: list[bytes]) -> bytes:
    """A PDF file with the given objects (1 is the catalog) and a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def document(pages: int, content: bytes, *, deflated: bool = False) -> bytes:
    """`pages` pages sharing one content stream, set in Helvetica."""
    kids = b" ".join(b"%d 0 R" % (5 + n) for n in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    flate = b" /Filter /FlateDecode" if deflated else b""
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(content), flate, content),
            *[page] * pages,
        ]
    )


def compressed_bomb(inflated_mb: int = INFLATED_BOMB_MB) -> bytes:
    """One page whose content stream is a statement line and then `inflated_mb` MB of blanks.

    Built without ever holding the inflated bytes: one megabyte of blanks is deflated once and
    its (history-free) deflate blocks repeated, inside a zlib header and checksum.
    """
    blanks = b" " * MB
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = head.compress(LINE + blanks) + head.flush(zlib.Z_FULL_FLUSH)
    body = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = body.compress(blanks) + body.flush(zlib.Z_FULL_FLUSH)
    checksum = zlib.adler32(LINE + blanks)
    for _ in range(inflated_mb - 1):
        checksum = zlib.adler32(blanks, checksum)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    stream = b"\x78\xda" + first + repeated * (inflated_mb - 1) + end + checksum.to_bytes(4, "big")
    return document(1, stream, deflated=True)


def page_bomb(pages: int = BOMB_PAGES) -> bytes:
    return document(pages, LINE)


def test_it_builds_a_bomb_that_really_inflates():
    data = compressed_bomb(inflated_mb=3)
    stream = data[data.index(b"stream\n") + 7 : data.index(b"\nendstream")]
    assert len(zlib.decompress(stream)) == len(LINE) + 3 * MB
    assert len(compressed_bomb()) < 400 * 1024


def test_it_refuses_a_compressed_stream_bomb_without_inflating_it():
    limits = ParseLimits(max_stream_inflated_bytes=10 * MB, max_inflated_bytes=40 * MB)
    with pytest.raises(StatementError) as error:
        extract_document(compressed_bomb(), limits)
    assert error.value.reason == "A part of the PDF expands to more than 10 MB when decompressed"


def test_it_refuses_a_document_whose_streams_together_inflate_too_much():
    # Five pages, each with its own 3 MB content stream: every stream is allowed, the sum is not.
    stream = zlib.compress(LINE + b" " * (3 * MB), 9)
    content = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)
    pages = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
    data = pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R 5 0 R 6 0 R 7 0 R 8 0 R] /Count 5 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            *[pages % n for n in range(9, 14)],
            *[content] * 5,
        ]
    )
    limits = ParseLimits(max_stream_inflated_bytes=5 * MB, max_inflated_bytes=10 * MB)
    with pytest.raises(StatementError) as error:
        extract_document(data, limits)
    assert error.value.reason == "The PDF expands to more than 10 MB when decompressed"
    assert parse_document(extract_document(data, ParseLimits())).transactions


def test_it_refuses_a_page_count_bomb_before_reading_any_page():
    data = page_bomb()
    started = time.process_time()
    with pytest.raises(StatementError) as error:
        extract_document(data)
    # CPU time, not wall time, so a busy machine does not make this flaky: walking the page tree
    # to page 301 takes a fraction of a second, laying out 20,000 pages took several seconds.
    assert time.process_time() - started < 1.5
    assert error.value.reason == "The PDF has more than 300 pages"


def test_it_still_reads_the_text_before_the_damage_in_a_broken_stream():
    # A deflate stream cut short (no final block, no checksum): zlib refuses it, and the lenient
    # fallback keeps what precedes the cut, as pdfminer's own fallback did, within the budget.
    whole = zlib.compress(LINE + b" " * 200_000, 9)
    statement = parse_document(extract_document(document(1, whole[:-20], deflated=True)))
    assert [t.description for t in statement.transactions] == ["ACH DEPOSIT STRIPE"]


def test_it_reads_a_normal_pdf_with_the_same_machinery():
    statement = parse_document(extract_document(document(3, LINE, deflated=False)))
    assert len(statement.transactions) == 3


def test_it_stops_a_reader_that_runs_past_its_time_limit():
    slow = document(250, LINE * 60)
    started = time.monotonic()
    with pytest.raises(StatementError) as error:
        parse_statement_file(slow, ParseLimits(time_seconds=1))
    assert error.value.reason == "Reading the file took longer than 1 s"
    assert time.monotonic() - started < 10


def test_it_stops_a_reader_that_needs_more_memory_than_allowed():
    # A layout of 100 pages × 600 lines needs far more than 160 MB of Python objects.
    heavy = document(100, LINE * 600)
    with pytest.raises(StatementError) as error:
        parse_statement_file(heavy, ParseLimits(memory_bytes=160 * MB, time_seconds=120))
    assert error.value.reason == "Reading the file needs more than 160 MB of memory"


def test_it_parses_a_normal_file_in_the_child_process():
    statement = parse_statement_file(healthy_csv())
    assert statement.format == "csv"
    assert statement.transactions


@pytest.mark.django_db
def test_it_keeps_the_job_time_limit_when_jobs_run_without_celery(
    api, org, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from deals import pipeline
    from deals.models import Deal, Statement, StatementStatus
    from tests.jobs.factories import upload

    # The embedded runner calls the task directly (no Celery time limit); one stage overruns.
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 1
    screen = pipeline.screen_transactions

    def slow_screening(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.2)
        return screen(*args, **kwargs)

    monkeypatch.setattr(pipeline, "screen_transactions", slow_screening)
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    with django_capture_on_commit_callbacks(execute=True):
        accepted = api.post(
            f"/api/v1/deals/{deal.pk}/statements",
            {"file": upload("a.csv", healthy_csv())},
            format="multipart",
        ).json()
    statement = Statement.objects.get(pk=accepted["statement_id"])
    assert (statement.status, statement.error) == (StatementStatus.FAILED, pipeline.TIME_LIMIT_REASON)


# --- The whole product, both modes -----------------------------------------------------------


def peak_rss_mb(pid: int) -> int:
    """The resident high-water mark (VmHWM) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    assert match, status
    return int(match[1]) // 1024


def process_tree(pid: int) -> list[int]:
    """`pid` and its living descendants (a Celery worker's pool processes, the fork server)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += children.get(current, [])
    return tree


def wait_for(check: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"Timed out waiting for {message}")


def upload_bombs_then_a_normal_file(stack: Stack, base_url: str) -> dict[str, dict[str, Any]]:
    """Upload both bombs and then a healthy CSV to one deal; return each statement once it ended."""
    key = stack.create_key("Bomb Squad")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        deal = client.post("/api/v1/deals", json={"business_name": "Bolt Logistics"}).json()
        files = {
            "compressed": ("statement.pdf", compressed_bomb()),
            "pages": ("long.pdf", page_bomb()),
            "normal": ("jan.csv", healthy_csv()),
        }
        ids = {}
        for name, (filename, content) in files.items():
            response = client.post(
                f"/api/v1/deals/{deal['id']}/statements", files={"file": (filename, content)}
            )
            assert response.status_code == 202, response.text
            ids[name] = response.json()["statement_id"]

        def ended() -> dict[str, dict[str, Any]] | None:
            statements = {s["id"]: s for s in client.get(f"/api/v1/deals/{deal['id']}").json()["statements"]}
            mine = {name: statements[ids[name]] for name in ids}
            done = all(s["status"] in {"completed", "failed"} for s in mine.values())
            return mine if done else None

        result: dict[str, dict[str, Any]] = wait_for(
            ended, timeout=240, message="the three statements to end"
        )
        return result


def assert_bombs_failed_and_normal_completed(statements: dict[str, dict[str, Any]]) -> None:
    assert statements["compressed"]["status"] == "failed"
    assert (
        statements["compressed"]["error"] == "A part of the PDF expands to more than 25 MB when decompressed"
    )
    assert statements["pages"]["status"] == "failed"
    assert statements["pages"]["error"] == "The PDF has more than 300 pages"
    assert statements["normal"]["status"] == "completed", statements["normal"]


def reader_peaks_mb(log: str) -> list[int]:
    return [int(mb) for mb in re.findall(r"Statement reader .* peak memory (\d+) MB", log)]


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_it_survives_bombs_in_the_embedded_mode():
    with embedded_stack(RATE_LIMIT_PER_MINUTE="100000") as stack:
        base_url = stack.start_web("uvicorn")
        web = stack.processes[-1]
        statements = upload_bombs_then_a_normal_file(stack, base_url)
        assert_bombs_failed_and_normal_completed(statements)
        assert web.popen.poll() is None, "the server process died"
        peak = peak_rss_mb(web.popen.pid)
        readers = reader_peaks_mb(web.log())
    print(f"embedded: uvicorn peak {peak} MB; statement readers peak {readers} MB")
    assert peak < SERVING_PROCESS_PEAK_MB
    assert len(readers) == 3
    assert max(readers) < ParseLimits().memory_bytes // MB


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_it_survives_bombs_in_the_distributed_mode():
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("the distributed mode needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    with distributed_stack(RATE_LIMIT_PER_MINUTE="100000") as stack:
        base_url = stack.start_web("uvicorn")
        worker = stack.start_worker(concurrency=1)
        statements = upload_bombs_then_a_normal_file(stack, base_url)
        assert_bombs_failed_and_normal_completed(statements)
        assert worker.popen.poll() is None, "the worker died"
        peaks = {pid: peak_rss_mb(pid) for pid in process_tree(worker.popen.pid)}
        readers = reader_peaks_mb(worker.log())
        assert "WorkerLostError" not in worker.log()
    print(f"distributed: worker processes peak {peaks} MB; statement readers peak {readers} MB")
    assert max(peaks.values()) < SERVING_PROCESS_PEAK_MB
    assert len(readers) == 3
    assert max(readers) < ParseLimits().memory_bytes // MB
