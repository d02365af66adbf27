"""The data a bank statement turns into, and the one error every parsing failure becomes.

Money is `Decimal` everywhere; stored JSON (deals.stored) renders it as a string so no float rounding creeps in.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

StatementFormat = Literal["csv", "ofx", "pdf"]
# What kind of account the file is about. Card statements have their own sign rules (a purchase
# is an outflow, a payment is not revenue, an amount owed is not a negative bank balance).
AccountType = Literal["checking", "savings", "credit_card", "unknown"]


class StatementError(Exception):
    """A statement file could not be read; `reason` is plain language, safe to show to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


CENT = Decimal("0.01")
# One ceiling for every format: past it a file is not one business's statement, and reading on
# only costs memory.
MAX_TRANSACTIONS = 100_000


def round_half_up(value: Decimal, unit: Decimal = CENT) -> Decimal:
    """`value` to a multiple of `unit` (a cent unless told), halves away from zero as banks round."""
    return value.quantize(unit, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """An amount as plain words show it: thousands separated, two decimals ("1,234.50")."""
    return f"{value:,.2f}"


def money_str(value: Decimal | None) -> str | None:
    """Render an amount for JSON: a plain decimal string (never exponent notation), or None."""
    if value is None:
        return None
    return f"{value:f}"


@dataclass(frozen=True)
class Transaction:
    """One line of a statement: deposits are positive, debits negative."""

    date: datetime.date
    description: str
    amount: Decimal
    balance: Decimal | None = None
    account: str | None = None
    counterparty: str | None = None
    # Where the transaction stands in the file (1-based line of a CSV/PDF text, or the index of
    # an OFX STMTTRN): reconciliation names it as the first bad row.
    row: int | None = None

    def row_number(self, position: int) -> int:
        """The row in the file when the parser knows it, else `position`, the 1-based one in the statement."""
        return self.row if self.row is not None else position


@dataclass(frozen=True)
class SkippedRow:
    """A row that looked like a transaction but could not be read; the statement lists it."""

    row: int
    reason: str


@dataclass(frozen=True)
class Finding:
    """A data-quality warning: a stable `code`, plain words, and the evidence it rests on."""

    code: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountBalances:
    """The balances one account's section of the file states (OFX LEDGERBAL, a PDF summary, …)."""

    account: str | None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ExtractedDocument:
    """A file whose type has been recognised by its content and whose text has been decoded."""

    format: StatementFormat
    text: str
    encoding: str | None = None  # the codec the bytes were decoded with; None for PDF
    page_count: int | None = None  # PDF only


@dataclass(frozen=True)
class ParsedStatement:
    """The transactions of one file in chronological order, plus what the file says about its period."""

    format: StatementFormat
    transactions: tuple[Transaction, ...]
    currency: str | None = None
    accounts: tuple[str, ...] = ()
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    # True when the parser computed the opening balance from the closing one and the amounts (OFX
    # states only a ledger balance): it is then no evidence, and reconciliation does not use it.
    opening_balance_derived: bool = False
    # The statement period when the file states one (OFX DTSTART/DTEND); it may extend past the
    # first and last transaction, which matters for average daily balance and deposits per 30 days.
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None
    account_type: AccountType = "checking"
    # Rows skipped because a cell could not be read (a few are tolerated; many refuse the file).
    rows_skipped: tuple[SkippedRow, ...] = ()
    # Per-account balances when the file holds several accounts; empty means "one account, the
    # statement's own opening/closing balance".
    account_balances: tuple[AccountBalances, ...] = ()
    warnings: tuple[Finding, ...] = field(default=())
