"""Credit-card exports: recognising them and turning their signs into bank-account signs.

Card issuers print purchases as positive numbers and payments to the card as negative ones (or
the other way round); the statement contract wants money that left the business negative. The
balance a card export shows is the amount owed, which is not a bank balance, so it is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from deals.parsing.headers import header_roles, normalize_header
from deals.parsing.statement import Transaction

_CARD_PREAMBLE = re.compile(
    r"credit card|card account|card member|cardmember|kreditkarte|carte de credit|tarjeta de credito"
    r"|carta di credito|creditcard|american express",
)
_PAYMENT = re.compile(
    r"payment|thank you|autopay|auto pay|zahlung|paiement|pago|betaling|pagamento|remboursement", re.I
)


def is_card_export(header: Sequence[str], preamble: Sequence[Sequence[str]], has_balance: bool) -> bool:
    """A header naming a card ("Card Member", "Card No."), a preamble saying "credit card", or
    the card layout of a transaction date plus a post date without any balance column."""
    if any("card" in header_roles(cell) for cell in header):
        return True
    if any(_CARD_PREAMBLE.search(normalize_header(" ".join(row))) for row in preamble):
        return True
    names = [normalize_header(cell) for cell in header]
    has_post_date = any(name in {"post date", "posted date", "posting date"} for name in names)
    has_trans_date = any(name in {"transaction date", "trans date", "trans dt"} for name in names)
    return has_post_date and has_trans_date and not has_balance


# What a card issuer writes on a payment it received; a bank account shows the same payment as
# an outgoing "CARD AUTOPAY" debit and never thanks anyone.
_THANK_YOU = re.compile(
    r"payment\W*(?:received\W*)?thank\s*you|thank\s*you\W*(?:for\s+your\s+)?payment", re.I
)


def thanks_for_payments(transactions: Sequence[Transaction]) -> bool:
    """True when some line reads like a card issuer's "PAYMENT - THANK YOU"."""
    return any(_THANK_YOU.search(t.description) for t in transactions)


def issuer_signs(transactions: Sequence[Transaction]) -> bool:
    """True when the file prints purchases positive (payments to the card negative).

    Decided by the payments ("PAYMENT - THANK YOU", "AUTOPAY"): negative payments mean the
    issuer's convention. A file without any payment is mostly purchases, so mostly positive
    amounts mean the issuer's convention too.
    """
    payments = [t.amount for t in transactions if _PAYMENT.search(t.description)]
    if payments:
        return sum(1 for a in payments if a < 0) > len(payments) / 2
    positive = sum(1 for t in transactions if t.amount > 0)
    return positive > len(transactions) - positive


def as_card_statement(transactions: Sequence[Transaction], *, flip: bool) -> list[Transaction]:
    """Bank-account signs (purchases negative, payments positive) and no amount-owed balances."""
    return [replace(t, amount=-t.amount if flip else t.amount, balance=None) for t in transactions]
