"""Files that are not statements, or are broken on purpose: every failure is a StatementError with a reason."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deals.parsing
from deals.parsing import (
    ParsedStatement,
    StatementError,
    extract_document,
    parse_csv,
    parse_document,
    parse_ofx,
    parse_pdf,
)
from deals.parsing.extract import extract_document as extract_unguarded
from tests.deals.statement_files import csv_bytes, fixture


def reason_for(data: bytes) -> str:
    with pytest.raises(StatementError) as error:
        parse_document(extract_document(data))
    return error.value.reason


def test_an_empty_file_is_rejected():
    assert reason_for(b"") == "The file is empty"
    assert reason_for(b" \r\n\t\n") == "The file is empty"


def test_an_executable_renamed_csv_is_unsupported():
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 4
    assert reason_for(exe) == "Unsupported file format"


def test_random_binary_is_unsupported():
    assert reason_for(bytes(range(256)) * 16) == "Unsupported file format"


def test_images_and_archives_are_unsupported():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("statement.csv", "Date,Description,Amount\n01/01/2024,A,1.00\n")
    assert reason_for(png) == "Unsupported file format"
    assert reason_for(archive.getvalue()) == "Unsupported file format"


def test_html_is_unsupported():
    page = (
        b"<!DOCTYPE html>\n<html><body><table><tr><td>01/01/2024</td><td>1.00</td></tr></table></body></html>"
    )
    assert reason_for(page) == "Unsupported file format"


def test_plain_prose_is_unsupported():
    assert reason_for(b"Dear customer\nYour statement is ready\n") == "Unsupported file format"


def test_a_latin_1_csv_is_decoded_not_rejected():
    data = csv_bytes(
        [["Date", "Description", "Amount"], ["01/02/2024", "Caf\u00e9 Cr\u00e8me", "-4.50"]],
        encoding="latin-1",
    )
    statement = parse_document(extract_document(data))
    assert statement.transactions[0].description == "Café Crème"


def test_a_truncated_ofx_is_rejected():
    data = fixture("ofx/bank_medium.ofx")
    assert reason_for(data[:600]).startswith("Malformed OFX")


def test_an_ofx_header_with_garbage_after_it_is_rejected():
    assert reason_for(b"OFXHEADER:100\nDATA:OFXSGML\n\n<<<>>> not ofx").startswith("Malformed OFX")


def test_a_file_too_large_is_rejected():
    assert reason_for(b"a,b\n" * (7 * 1024 * 1024)) == "The file is too large (the limit is 25 MB)"


def read_unguarded(data: bytes) -> ParsedStatement | str:
    """The statement, or the StatementError's reason. Calls extract and the parsers without the
    public functions' safety net, so that a bug fails these tests instead of becoming a reason."""
    try:
        doc = extract_unguarded(data)
        return {"csv": parse_csv, "ofx": parse_ofx, "pdf": parse_pdf}[doc.format](doc.text)
    except StatementError as error:
        return error.reason


def assert_outcome(result: ParsedStatement | str) -> None:
    if isinstance(result, str):
        assert result.strip()
    else:
        assert result.transactions


def test_a_parser_bug_still_reaches_the_caller_as_a_statement_error(monkeypatch):
    def broken(text: str) -> ParsedStatement:
        raise IndexError("bug")

    monkeypatch.setitem(deals.parsing._PARSERS, "csv", broken)
    assert reason_for(b"Date,Amount\n01/01/2024,1.00\n") == "The CSV file could not be parsed"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_only_ever_raise_statement_error(data: bytes):
    assert_outcome(read_unguarded(data))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_after_an_ofx_header_only_ever_raise_statement_error(tail: bytes):
    assert_outcome(read_unguarded(b"OFXHEADER:100\nDATA:OFXSGML\n\n<OFX>" + tail))


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=512))
def test_random_bytes_after_a_pdf_header_only_ever_raise_statement_error(tail: bytes):
    assert_outcome(read_unguarded(b"%PDF-1.4\n" + tail))


_dates = st.builds(
    "{}{}{}{}{}".format,
    st.integers(0, 40),
    st.sampled_from("/.-"),
    st.integers(0, 40),
    st.sampled_from("/.-"),
    st.sampled_from([24, 2024, 1999, 0, 99999]),
)
_amounts = st.builds(
    "{}{}{:,}{}{}".format,
    st.sampled_from(["", "-", "(", "+", "$", "-€"]),
    st.sampled_from(["", " "]),
    st.integers(-(10**9), 10**9),
    st.sampled_from(["", ".5", ".05", ",99", "5"]),
    st.sampled_from(["", " CR", "DR", ")", "-"]),
)
_cells = st.one_of(
    _dates,
    _amounts,
    st.sampled_from(
        ["Date", "Description", "Amount", "Debit", "Credit", "Balance", "Dr/Cr", "Opening balance", ""]
    ),
    st.text(max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(_cells, min_size=1, max_size=6), min_size=1, max_size=12),
    st.sampled_from([",", ";", "\t", "|"]),
    st.booleans(),
)
def test_random_csv_like_text_only_ever_raises_statement_error(rows, delimiter, with_header):
    if with_header:
        rows = [["Date", "Description", "Amount", "Balance"], *rows]
    text = "\n".join(delimiter.join(row) for row in rows)
    assert_outcome(read_unguarded(text.encode("utf-8")))
