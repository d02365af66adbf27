"""PDF statements: text-layer PDFs built with fpdf2, an image-only PDF, and broken ones."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from fpdf import FPDF

from deals.parsing import StatementError, extract_document, parse_document
from tests.deals.statement_files import image_pdf, text_pdf

STATEMENT = [
    "First Community Bank - Business Checking",
    "Account number: ****4421",
    "Statement Period 01/01/2024 to 01/31/2024",
    "Beginning Balance $4,180.10",
    "Date Description Amount Balance",
    "01/15/2024  ACH DEPOSIT STRIPE  1,250.00  5,430.10",
    "01/16/2024  CHECK 1042  430.10  5,000.00",
    "01/17/2024  ACH DEBIT XYZ FUNDING  -250.00  4,750.00",
    "01/18/2024  WIRE TRANSFER IN  (20.00)",
    "Ending Balance $4,730.00",
    "Page 1 of 1",
]


def test_it_reads_transaction_lines_from_a_text_pdf():
    doc = extract_document(text_pdf(STATEMENT))
    assert doc.format == "pdf"
    assert doc.page_count == 1
    statement = parse_document(doc)
    assert [(t.date, t.description, t.amount, t.balance) for t in statement.transactions] == [
        (datetime.date(2024, 1, 15), "ACH DEPOSIT STRIPE", Decimal("1250.00"), Decimal("5430.10")),
        # Unsigned, but the balance fell by 430.10: a debit.
        (datetime.date(2024, 1, 16), "CHECK 1042", Decimal("-430.10"), Decimal("5000.00")),
        (datetime.date(2024, 1, 17), "ACH DEBIT XYZ FUNDING", Decimal("-250.00"), Decimal("4750.00")),
        (datetime.date(2024, 1, 18), "WIRE TRANSFER IN", Decimal("-20.00"), None),
    ]
    assert statement.opening_balance == Decimal("4180.10")
    assert statement.closing_balance == Decimal("4730.00")
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 1, 1),
        datetime.date(2024, 1, 31),
    )


def test_it_signs_unsigned_amounts_from_the_section_they_are_listed_under():
    doc = extract_document(
        text_pdf(
            [
                "Statement through 02/29/2024",
                "Deposits and Additions",
                "02/05 CARD SETTLEMENT 900.00",
                "Electronic Withdrawals",
                "02/06 PAYROLL SERVICE 300.00",
            ]
        )
    )
    statement = parse_document(doc)
    assert [(t.date, t.amount) for t in statement.transactions] == [
        (datetime.date(2024, 2, 5), Decimal("900.00")),
        (datetime.date(2024, 2, 6), Decimal("-300.00")),
    ]


def test_dates_without_a_year_take_the_year_of_the_statement_end():
    doc = extract_document(
        text_pdf(
            [
                "Statement Period 12/15/2023 - 01/14/2024",
                "Deposits",
                "12/28 CARD SETTLEMENT 100.00",
                "01/03 CARD SETTLEMENT 200.00",
            ]
        )
    )
    assert [t.date for t in parse_document(doc).transactions] == [
        datetime.date(2023, 12, 28),
        datetime.date(2024, 1, 3),
    ]


def test_it_reads_eu_dates_and_decimals_in_a_pdf():
    doc = extract_document(
        text_pdf(
            ["Kontoauszug", "15.01.2024 Miete -1.234,56 5.000,00", "16.01.2024 Gutschrift 2.000,00 7.000,00"]
        )
    )
    statement = parse_document(doc)
    assert [(t.date, t.amount) for t in statement.transactions] == [
        (datetime.date(2024, 1, 15), Decimal("-1234.56")),
        (datetime.date(2024, 1, 16), Decimal("2000.00")),
    ]


def test_an_image_only_pdf_has_no_text_layer():
    with pytest.raises(StatementError) as error:
        extract_document(image_pdf())
    assert error.value.reason == "PDF has no text layer"


def test_a_text_pdf_without_transaction_lines_has_no_transactions():
    doc = extract_document(text_pdf(["Dear customer,", "Your statement is attached."]))
    with pytest.raises(StatementError) as error:
        parse_document(doc)
    assert error.value.reason == "No transactions found in the file"


def test_a_damaged_pdf_is_reported_as_such():
    with pytest.raises(StatementError) as error:
        extract_document(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")
    assert error.value.reason == "The PDF file is damaged or could not be read"


def test_a_password_protected_pdf_is_reported_as_such():
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, "01/15/2024 DEPOSIT 1.00 2.00")
    with pytest.raises(StatementError) as error:
        extract_document(bytes(pdf.output()))
    assert error.value.reason == "The PDF is password-protected"


def test_a_truncated_pdf_fails_with_a_reason():
    data = text_pdf(STATEMENT)
    with pytest.raises(StatementError):
        parse_document(extract_document(data[: len(data) // 3]))
