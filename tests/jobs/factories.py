"""Statement files and helpers shared by the deals, jobs and end-to-end tests and the benchmark.

Importable without Django set up (the end-to-end tests and the benchmark run outside it).
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.deals.statement_files import csv_bytes, fixture, text_pdf

if TYPE_CHECKING:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from events.models import Event

STAGE_EVENTS = [
    ("processing.started", "extracting_text", 0),
    ("processing.progress", "parsing", 25),
    ("processing.progress", "screening", 50),
    ("processing.progress", "scoring", 75),
    ("processing.completed", "completed", 100),
]


def healthy_csv(days: int = 60, *, start: datetime.date = datetime.date(2024, 1, 1)) -> bytes:
    """A business account with steady card deposits and a few bills: a high score."""
    rows: list[list[object]] = [["Date", "Description", "Amount", "Balance"]]
    balance = Decimal("20000.00")
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        if day.weekday() < 5:
            balance += Decimal("1500.00")
            rows.append([day.strftime("%m/%d/%Y"), "CARD SETTLEMENT STRIPE", "1500.00", f"{balance:.2f}"])
        if day.day == 3:
            balance -= Decimal("2500.00")
            rows.append(
                [day.strftime("%m/%d/%Y"), "RENT MAIN STREET PROPERTIES", "-2500.00", f"{balance:.2f}"]
            )
    return csv_bytes(rows)


def statement_pdf() -> bytes:
    return text_pdf(
        [
            "First Community Bank - Business Checking",
            "Account number: ****4421",
            "Statement Period 02/01/2024 to 02/29/2024",
            "Beginning Balance $14,180.10",
            "Date Description Amount Balance",
            "02/05/2024  ACH DEPOSIT STRIPE  6,250.00  20,430.10",
            "02/12/2024  CHECK 1042  430.10  20,000.00",
            "02/19/2024  ACH DEPOSIT SQUARE  5,100.00  25,100.00",
            "02/26/2024  PAYROLL SERVICE  -3,000.00  22,100.00",
            "Ending Balance $22,100.00",
            "Page 1 of 1",
        ]
    )


def ofx_medium() -> bytes:
    return fixture("ofx/bank_medium.ofx")


def bad_file() -> bytes:
    """A note in plain text: taken at upload (it might be a statement), then failed by the
    pipeline as "Unsupported file format". A picture is refused at upload (deals.parsing.not_statements)."""
    return b"Scanned copy of the statement to follow by post\nThank you\n"


def statement_files() -> list[tuple[str, bytes]]:
    """Three readable statements of different formats and one bad file, in upload order."""
    return [
        ("january.csv", healthy_csv()),
        ("bank_medium.ofx", ofx_medium()),
        ("february.pdf", statement_pdf()),
        ("photo.png", bad_file()),
    ]


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def zip_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def events(**filters: Any) -> list[Event]:
    from events.models import Event

    return list(Event.objects.filter(**filters).order_by("id"))


def stage_events(statement_id: int) -> list[tuple[str, str | None, int | None]]:
    """(type, stage, progress) of one statement's processing events, in publication order."""
    from events.models import Event

    return [
        (e.type, e.data.get("stage"), e.data.get("progress"))
        for e in Event.objects.filter(type__startswith="processing.").order_by("id")
        if e.data.get("statement_id") == statement_id
    ]
