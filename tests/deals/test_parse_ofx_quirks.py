"""OFX quirks real producers emit are read, and refusals are in plain words (class 9)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document
from tests.deals.ofx_files import bank_statement, close_every_tag, ofx_file
from tests.deals.statement_files import ofx_v2

ENTRIES = [("20240105", "1500.00", "STRIPE PAYOUT"), ("20240110", "-200.00", "RENT")]
EXPECTED = [(datetime.date(2024, 1, 5), Decimal("1500.00")), (datetime.date(2024, 1, 10), Decimal("-200.00"))]


def parse(data: bytes) -> ParsedStatement:
    return parse_document(extract_document(data))


def read(data: bytes) -> list[tuple[datetime.date, Decimal]]:
    return [(t.date, t.amount) for t in parse(data).transactions]


def test_it_reads_lower_case_enumerations():
    data = ofx_file([bank_statement(ENTRIES, account_type="checking", trntype="debit")])
    data = data.replace(b"<SEVERITY>INFO", b"<SEVERITY>info")
    statement = parse(data)
    assert [(t.date, t.amount) for t in statement.transactions] == EXPECTED
    assert statement.account_type == "checking"


def test_it_reads_empty_transaction_ids():
    data = ofx_file([bank_statement(ENTRIES)]).replace(b"<FITID>F1\n", b"<FITID>\n")
    data = data.replace(b"<FITID>F2\n", b"<FITID></FITID>\n")
    assert read(data) == EXPECTED


def test_it_reads_sgml_that_closes_every_tag():
    data = close_every_tag(ofx_file([bank_statement(ENTRIES, ledger="1300.00")]))
    assert b"<TRNAMT>1500.00</TRNAMT>" in data
    statement = parse(data)
    assert [(t.date, t.amount) for t in statement.transactions] == EXPECTED
    assert statement.closing_balance == Decimal("1300.00")


def test_it_reads_lower_case_tags():
    data = ofx_file([bank_statement(ENTRIES)]).decode().replace("<STMTTRN>", "<stmttrn>")
    assert read(data.replace("</STMTTRN>", "</stmttrn>").encode()) == EXPECTED


def test_it_reads_a_file_whose_tags_are_closed_out_of_order():
    # A producer that closes leaves and forgets one: the strict tree builder gives up here.
    data = ofx_file([bank_statement(ENTRIES, ledger="1300.00")]).replace(
        b"<NAME>RENT\n", b"<NAME>RENT</MEMO>\n"
    )
    statement = parse(data)
    assert [(t.date, t.amount, t.description) for t in statement.transactions][1] == (
        datetime.date(2024, 1, 10),
        Decimal("-200.00"),
        "RENT",
    )
    assert statement.closing_balance == Decimal("1300.00")


def test_it_reads_a_file_without_optional_aggregates():
    bare = (
        "<STMTTRNRS><STMTRS><BANKTRANLIST>"
        "<STMTTRN><DTPOSTED>20240105<TRNAMT>1500.00</STMTTRN>"
        "<STMTTRN><DTPOSTED>20240110<TRNAMT>-200.00<MEMO>RENT</STMTTRN>"
        "</BANKTRANLIST></STMTRS></STMTTRNRS>"
    )
    statement = parse(("OFXHEADER:100\n<OFX><BANKMSGSRSV1>" + bare + "</BANKMSGSRSV1></OFX>").encode())
    assert [(t.date, t.amount) for t in statement.transactions] == EXPECTED
    assert statement.transactions[1].description == "RENT"
    assert (statement.currency, statement.accounts, statement.closing_balance) == (None, (), None)


def test_a_check_without_a_name_is_described_by_its_number():
    data = ofx_file([bank_statement([("20240105", "-75.00", "X")])]).replace(
        b"<NAME>X\n", b"<CHECKNUM>1042\n"
    )
    assert parse(data).transactions[0].description == "Check 1042"


def test_a_newest_first_account_keeps_same_day_order():
    entries = [("20240110", "-5.00", "LATE"), ("20240105", "-2.00", "SECOND"), ("20240105", "9.00", "FIRST")]
    statement = parse(ofx_file([bank_statement(entries)]))
    assert [t.description for t in statement.transactions] == ["FIRST", "SECOND", "LATE"]


LIBRARY_WORDS = ("Can't set", "STMTTRN.", "ofxtools", "Traceback", "Error(", "Aggregate")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            ofx_file([bank_statement([("20241345", "1.00", "X")])]),
            "Malformed OFX: transaction 1: the date '20241345120000[-5:EST]' is not a valid date",
        ),
        (
            ofx_file([bank_statement([("20240105", "$1,500.00", "X")])]),
            "Malformed OFX: transaction 1: the amount '$1,500.00' is not a number",
        ),
        (
            ofx_file([bank_statement([("20240105", "1.00", "X")])]).replace(b"<TRNAMT>1.00\n", b""),
            "Malformed OFX: transaction 1 has no amount",
        ),
        (
            ofx_file([bank_statement([("20240105", "1.00", "X")])]).replace(
                b"<DTPOSTED>20240105120000[-5:EST]\n", b""
            ),
            "Malformed OFX: transaction 1 has no date",
        ),
        (
            ofx_file([bank_statement([("20240105", "1.00", "X")], ledger="n/a")]),
            "Malformed OFX: the ledger balance of account 100200300: the amount 'n/a' is not a number",
        ),
        (
            ofx_v2([("20240105", "12,50,1", "X")]),
            "Malformed OFX: transaction 1: the amount '12,50,1' is not a number",
        ),
        (b"OFXHEADER:100\n<OFX><BANKMSGSRSV1>", "Malformed OFX: the file is truncated (no closing </OFX>)"),
    ],
)
def test_refusals_are_in_plain_words_never_library_text(data: bytes, reason: str):
    with pytest.raises(StatementError) as error:
        parse(data)
    assert error.value.reason == reason
    assert not any(word in error.value.reason for word in LIBRARY_WORDS)


def test_a_download_the_bank_refused_says_so():
    data = (
        b"OFXHEADER:100\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>15500<SEVERITY>ERROR"
        b"<MESSAGE>Signon invalid</STATUS><DTSERVER>20240201</SONRS></SIGNONMSGSRSV1></OFX>"
    )
    with pytest.raises(StatementError) as error:
        parse(data)
    assert (
        error.value.reason == "The bank sent an error instead of a statement (code 15500: 'Signon invalid')"
    )
