"""Property: whatever text a PDF yields, parse_pdf answers a statement or a StatementError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deals.parsing import StatementError, parse_pdf
from deals.parsing.statement import ParsedStatement
from tests.deals.pdf_statements import checking_statement

PIECES = st.sampled_from(
    [
        "03/04", "03/04/2024", "1234", "^", "XXXX", "1,250.00", "(20.00)", "5.00 CR", "-7.10", "$9.99",
        "Deposit", "Check", "Total", "Beginning Balance", "Ending Balance", "DAILY ENDING BALANCE",
        "Deposits and Additions", "Checks Paid", "Credit Limit", "Minimum Payment Due", "Payment Due Date",
        "Account number:", "07107", "through", "March 1, 2024",
    ]
)  # fmt: skip
LINE = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map(" ".join)
TEXT = st.lists(LINE, max_size=40).map("\n".join)
REAL = checking_statement()


def outcome(text: str) -> ParsedStatement | StatementError:
    try:
        return parse_pdf(text)
    except StatementError as error:
        return error


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_it_never_crashes_on_statement_like_text(text: str):
    result = outcome(text)
    assert isinstance(result, StatementError) or result.transactions


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, len(REAL) - 1), max_size=6), LINE)
def test_it_never_crashes_on_a_damaged_statement(dropped: list[int], extra: str):
    lines = [line for n, line in enumerate(REAL) if n not in dropped]
    result = outcome("\n".join([*lines, extra]))
    assert isinstance(result, StatementError) or result.transactions
