"""PDF section headings give unsigned amounts their sign; card statements keep card signs (class 6, 7)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, extract_document, parse_document
from deals.parsing.statement import AccountBalances
from tests.deals.pdf_statements import CARD_AND_ELECTRONIC, DEPOSITS
from tests.deals.statement_files import text_pdf

PERIOD = "Statement Period 03/01/2024 through 03/31/2024"


def parse(lines: list[str]) -> ParsedStatement:
    return parse_document(extract_document(text_pdf([PERIOD, *lines])))


@pytest.mark.parametrize(
    ("heading", "sign"),
    [
        ("Deposits and Additions", 1),
        ("Other Credits", 1),
        ("Checks Paid", -1),
        ("ATM & Debit Card Withdrawals", -1),
        ("Electronic Withdrawals", -1),
        ("Other Withdrawals, Fees & Charges", -1),
        ("Fees", -1),
    ],
)
def test_a_section_heading_signs_the_unsigned_amounts_under_it(heading: str, sign: int):
    # The wording alone would say the opposite: "refund" reads as a credit, "transfer" as a debit.
    statement = parse([heading, "03/05 VENDOR REFUND ADJ 125.00", "03/06 TRANSFER 10.00"])
    assert [t.amount for t in statement.transactions] == [Decimal("125.00") * sign, Decimal("10.00") * sign]


def test_every_section_of_a_statement_keeps_its_own_sign_and_total():
    statement = parse(DEPOSITS + CARD_AND_ELECTRONIC)
    by_description = {t.description: t.amount for t in statement.transactions}
    assert by_description == {
        "Card Settlement Square Inc": Decimal("3500.00"),
        "Remote Online Deposit": Decimal("1650.00"),
        "Card Purchase Restaurant Depot": Decimal("-84.12"),
        "Orig CO Name:Gusto Payroll": Decimal("-3460.00"),
        "Orig CO Name:Landlord Props Rent": Decimal("-750.00"),
        "Monthly Service Fee": Decimal("-15.00"),
    }
    assert statement.warnings == ()


def test_an_explicit_sign_wins_over_the_section():
    statement = parse(["Electronic Withdrawals", "03/05 ACH RETURN CREDIT 125.00 CR", "03/06 PAYROLL 10.00"])
    assert [t.amount for t in statement.transactions] == [Decimal("125.00"), Decimal("-10.00")]


def test_a_section_continued_on_the_next_page_is_one_section_with_one_total():
    lines = [
        "Electronic Withdrawals",
        "03/05 PAYROLL 100.00",
        "Page 1 of 2",
        "Electronic Withdrawals (continued)",
        "03/06 RENT 50.00",
        "Total Electronic Withdrawals $150.00",
    ]
    statement = parse(lines)
    assert [t.amount for t in statement.transactions] == [Decimal("-100.00"), Decimal("-50.00")]
    assert statement.warnings == ()


def test_a_column_header_line_does_not_open_a_section():
    statement = parse(["Deposits and Additions", "Date Description Amount", "03/05 STRIPE 100.00"])
    assert [t.amount for t in statement.transactions] == [Decimal("100.00")]


CARD = [
    "Business Platinum Card Statement",
    "Payment Due Date 04/25/2024 Minimum Payment Due $35.00",
    "Credit Limit $10,000.00",
    "Previous Balance $412.16",
    "03/02 PAYMENT THANK YOU (412.16)",
    "03/03 OFFICE DEPOT #112 120.00",
    "03/09 SHELL OIL 57.45",
    "03/12 OFFICE DEPOT RETURN 20.00 CR",
    "03/20 ANNUAL FEE 95.00",
    "New Balance $252.45",
]


def test_a_card_statement_reads_purchases_as_outflows_and_payments_as_inflows():
    statement = parse(CARD)
    assert statement.account_type == "credit_card"
    assert [t.amount for t in statement.transactions] == [
        Decimal("412.16"),
        Decimal("-120.00"),
        Decimal("-57.45"),
        Decimal("20.00"),
        Decimal("-95.00"),
    ]


def test_a_card_statements_amount_owed_is_not_a_bank_balance():
    statement = parse(CARD)
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    [owed] = statement.account_balances
    assert owed == AccountBalances(None, Decimal("-412.16"), Decimal("-252.45"), "USD")
    assert owed.opening_balance is not None
    assert owed.opening_balance + sum(t.amount for t in statement.transactions) == owed.closing_balance


def test_a_combined_table_whose_header_names_both_columns_has_no_section_sign():
    lines = [
        "Transaction history",
        "Deposits/ Withdrawals/ Ending daily",
        "Date Number Description Credits Debits balance",
        "03/04 Square Inc Deposit 4,200.00",
        "03/05 Gusto Payroll 1,000.00 3,200.00",
        "03/06 Card Refund 50.00 3,250.00",
        "03/07 Office Rent 500.00",
        "03/08 Stripe Transfer 100.00 2,850.00",
    ]
    statement = parse(["Beginning balance on 3/1 $0.00", *lines])
    # Lines without a balance are signed by their wording, the others by the running balance.
    assert [t.amount for t in statement.transactions] == [
        Decimal("4200.00"),
        Decimal("-1000.00"),
        Decimal("50.00"),
        Decimal("-500.00"),
        Decimal("100.00"),
    ]


@pytest.mark.parametrize(
    ("heading", "sign"),
    [("Payments and Other Credits", 1), ("Purchases and Adjustments", -1), ("Fees Charged", -1)],
)
def test_a_card_statements_headings_use_card_signs(heading: str, sign: int):
    statement = parse([*CARD[:3], heading, "03/05 ADJUSTMENT 10.00"])
    assert [t.amount for t in statement.transactions] == [Decimal("10.00") * sign]


def test_a_heading_naming_the_checking_account_is_still_one_sided():
    statement = parse(["Deposits to Checking", "03/05 TRANSFER 10.00"])
    assert [t.amount for t in statement.transactions] == [Decimal("10.00")]
