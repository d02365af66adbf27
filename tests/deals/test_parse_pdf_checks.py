"""PDF check tables are read, whichever way the bank prints them (failure class 7)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from deals.parsing import ParsedStatement, extract_document, parse_document
from tests.deals.pdf_statements import CHECKS
from tests.deals.statement_files import text_pdf

PERIOD = "Statement Period 03/01/2024 through 03/31/2024"


def parse(lines: list[str]) -> ParsedStatement:
    return parse_document(extract_document(text_pdf([PERIOD, *lines])))


def checks(statement: ParsedStatement) -> list[tuple[int, str, Decimal]]:
    return [(t.date.day, t.description, t.amount) for t in statement.transactions]


def test_lines_that_begin_with_a_check_number_are_read_as_checks():
    statement = parse(CHECKS)
    assert checks(statement) == [
        (6, "Check 1041", Decimal("-1200.00")),
        (14, "Check 1042", Decimal("-980.00")),
        (20, "Check 1044", Decimal("-550.00")),
    ]
    assert statement.warnings == ()


def test_a_check_line_with_a_description_keeps_it():
    statement = parse(["1234 03/15 Check 250.00", "1235 03/16 Cheque to Ace Plumbing 90.00"])
    assert checks(statement) == [
        (15, "Check 1234", Decimal("-250.00")),
        (16, "Cheque to Ace Plumbing 1235", Decimal("-90.00")),
    ]


def test_date_first_check_lines_are_read_as_checks():
    statement = parse(["Checks Paid", "03/15 1234 ^ 250.00", "03/16 1235 75.10", "03/18 #1236 10.00"])
    assert checks(statement) == [
        (15, "Check 1234", Decimal("-250.00")),
        (16, "Check 1235", Decimal("-75.10")),
        (18, "Check 1236", Decimal("-10.00")),
    ]


def test_a_check_table_with_several_checks_per_line_reads_each_of_them():
    statement = parse(
        [
            "CHECKS PAID",
            "Number Date Amount Number Date Amount",
            "1045 03/02 100.00 1046 * 03/03 1,200.00",
            "1047 03/09 35.25",
        ]
    )
    assert checks(statement) == [
        (2, "Check 1045", Decimal("-100.00")),
        (3, "Check 1046", Decimal("-1200.00")),
        (9, "Check 1047", Decimal("-35.25")),
    ]
    assert [t.row for t in statement.transactions] == [4, 4, 5]


def test_a_masked_check_number_is_still_a_check():
    statement = parse(["CHECKS PAID", "XXXX ^ 03/14 $1,471.99"])
    assert checks(statement) == [(14, "Check XXXX", Decimal("-1471.99"))]


def test_a_check_line_with_a_running_balance_takes_its_sign_from_the_balance():
    statement = parse(["Beginning Balance 1,000.00", "1042 03/14/2024 980.00 20.00", "Ending Balance 20.00"])
    assert [(t.date, t.amount, t.balance) for t in statement.transactions] == [
        (datetime.date(2024, 3, 14), Decimal("-980.00"), Decimal("20.00"))
    ]


def test_a_check_line_that_could_not_be_read_is_listed_and_the_section_total_disagrees():
    lines = [*CHECKS[:3], "03114 1042 980.00", *CHECKS[4:]]
    statement = parse(lines)
    assert [t.amount for t in statement.transactions] == [Decimal("-1200.00"), Decimal("-550.00")]
    [skipped] = statement.rows_skipped
    assert (skipped.row, skipped.reason) == (5, "the date '03114' could not be read")
    [warning] = statement.warnings
    assert warning.code == "section_total_mismatch"
    assert warning.evidence == {
        "section": "CHECKS PAID",
        "heading_row": 2,
        "total_row": 7,
        "stated_total": "2730.00",
        "read_total": "1750.00",
        "rows": [4, 6],
    }


def test_a_check_table_with_the_description_before_the_date_paid_is_read():
    statement = parse(
        [
            "CHECKS PAID",
            "CHECK NUMBER DESCRIPTION DATE PAID AMOUNT",
            "1048 ^ Electronic Check Ace Supplies 03/14 1,471.99",
            "1049 * 03/15 20.00",
            "Total Checks Paid $1,491.99",
        ]
    )
    assert checks(statement) == [
        (14, "Electronic Check Ace Supplies 1048", Decimal("-1471.99")),
        (15, "Check 1049", Decimal("-20.00")),
    ]
    assert statement.warnings == ()
