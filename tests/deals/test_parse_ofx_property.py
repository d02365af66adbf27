"""Property: whatever text or markup arrives, parse_ofx answers a statement or a StatementError."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deals.parsing import StatementError, parse_ofx
from deals.parsing.statement import ParsedStatement
from tests.deals.ofx_files import bank_statement, ofx_file

TAGS = [
    "OFX", "STMTRS", "CCSTMTRS", "INVSTMTRS", "BANKTRANLIST", "STMTTRN", "DTPOSTED", "TRNAMT", "NAME",
    "MEMO", "LEDGERBAL", "BALAMT", "DTASOF", "DTSTART", "DTEND", "BANKACCTFROM", "ACCTID", "CURDEF",
    "PAYEE", "CHECKNUM", "stmttrn", "X.Y",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["20240105", "2024", "-12.50", "1,5", "", "99999999999999999999", "USD", "<", "&amp;"]),
    st.text(max_size=12),
)
TOKEN = st.one_of(
    st.sampled_from(TAGS).map(lambda t: f"<{t}>"),
    st.sampled_from(TAGS).map(lambda t: f"</{t}>"),
    VALUES,
)
MARKUP = st.lists(TOKEN, max_size=60).map(lambda parts: "<OFX>" + "".join(parts) + "</OFX>")
VALID = ofx_file([bank_statement([("20240105", "100.00", "A"), ("20240110", "-5.00", "B")])]).decode()


def outcome(text: str) -> ParsedStatement | StatementError:
    try:
        return parse_ofx(text)
    except StatementError as error:
        return error


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_it_never_crashes_on_random_text(text: str):
    result = outcome(text)
    assert isinstance(result, StatementError)
    assert result.reason


@settings(max_examples=150, deadline=None)
@given(MARKUP)
def test_it_never_crashes_on_random_markup(text: str):
    result = outcome(text)
    if isinstance(result, StatementError):
        assert result.reason
    else:
        assert result.transactions
        assert all(t.amount == t.amount.quantize(Decimal("0.01")) for t in result.transactions)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(VALID)), st.integers(0, len(VALID)), TOKEN)
def test_it_never_crashes_on_a_damaged_valid_file(start: int, end: int, insert: str):
    result = outcome(VALID[: min(start, end)] + insert + VALID[max(start, end) :])
    assert isinstance(result, ParsedStatement) or result.reason


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_it_never_crashes_on_random_bytes_inside_an_ofx_envelope(data: bytes):
    text = ("OFXHEADER:100\n<OFX>" + data.decode("latin-1") + "</OFX>").replace("\x00", "")
    result = outcome(text)
    assert isinstance(result, StatementError) or result.transactions
