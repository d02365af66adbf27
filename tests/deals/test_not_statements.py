"""Recognising, by their first bytes, files that cannot be a bank statement (pure, no Django)."""

from __future__ import annotations

import io

import pytest

from deals.parsing.not_statements import advice, describe
from tests.deals.statement_files import csv_bytes
from tests.jobs.factories import ofx_medium, statement_pdf, zip_bytes


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "a PNG picture"),
        (b"\x00\x00\x00\x1cftypavif" + b"\x00" * 32, "an AVIF picture"),
        (b"\x00\x00\x00\x20ftypisom" + b"\x00" * 32, "a video"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32,
            "a Word or Excel document in the old binary format",
        ),
        (
            zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")]),
            "an OpenDocument spreadsheet",
        ),
        (zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.text")]), "an OpenDocument text"),
        (zip_bytes([("ppt/presentation.xml", b"<p/>")]), "a PowerPoint presentation"),
        (zip_bytes([("jan.csv", b"Date,Amount\n")]), "a zip archive"),
    ],
)
def test_it_names_what_the_file_is(content: bytes, kind: str) -> None:
    assert describe(io.BytesIO(content)) == kind


@pytest.mark.parametrize(
    "content",
    [
        csv_bytes([["Date", "Description", "Amount"], ["01/02/2024", "CARD", "10.00"]]),
        ofx_medium(),
        statement_pdf(),
        b"Scanned copy to follow by post\n",
        b"",
    ],
)
def test_it_lets_anything_that_may_be_a_statement_through(content: bytes) -> None:
    assert describe(io.BytesIO(content)) is None


def test_it_leaves_the_file_where_it_was() -> None:
    content = io.BytesIO(b"prefix" + zip_bytes([("word/document.xml", b"<w/>")]))
    content.seek(6)
    assert describe(content) == "a Word document"
    assert content.tell() == 6


def test_the_advice_names_what_to_upload_instead() -> None:
    assert "CSV or OFX/QFX" in advice("a PNG picture")
    assert "PDF statement" in advice("a PNG picture")
    assert advice("an Excel workbook").startswith("Save the sheet as CSV")
    assert "as a batch" in advice("a zip archive")
