"""What each transaction is (revenue, a transfer between own accounts, lender money, a fee, …) and
whether it counts as revenue. Pure functions; docs/underwriting.md ("## Revenue") is the contract.

The one place that reads meaning into a description: screening (deals.underwriting) asks it
about NSF/overdraft/returned items and lender names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from django.db import models

from deals.parsing.statement import AccountType, ParsedStatement, Transaction

# --- Risk events and lenders, read from a description (screening counts them) -----------------

EventKind = Literal["nsf", "overdraft", "returned_item"]

# Checked in this order; a transaction counts as one event of the first kind it matches.
_EVENT_PATTERNS: tuple[tuple[EventKind, re.Pattern[str]], ...] = (
    ("nsf", re.compile(r"\bNSF\b|NON[- ]?SUFFICIENT|INSUFFICIENT\s+FUNDS?", re.I)),
    (
        "returned_item",
        re.compile(
            r"\bRETURN(?:ED)?\s+(?:ITEM|CHECK|CHEQUE|ACH|PAYMENT|DEPOSIT|DEBIT)\b|\bITEM\s+RETURNED\b"
            r"|\bACH\s+RETURN\b|\bUNPAID\s+ITEM\b|\bRETURNED\s+DEPOSITED\s+ITEM\b",
            re.I,
        ),
    ),
    ("overdraft", re.compile(r"\bOVERDRAFT\b|\bOVERDRAWN\b|\bO/D\b|\bOD\s+(?:FEE|CHARGE)\b", re.I)),
)
_LENDER_WORD = re.compile(r"^(?:FUNDING|CAPITAL|ADVANCES?|LENDING|LENDERS?|LOANS?|FINANCING|FUNDERS?|MCA)$")
# Words banks put around the counterparty of an ACH debit; they are not part of its name.
_NOISE = (
    "ACH DEBIT DEBITS PAYMENT PAYMENTS PMT PYMT WITHDRAWAL ELECTRONIC ONLINE PPD CCD WEB TEL ID CO COID"
    " DES DESCR ENTRY ORIG INDN TRN TRACE EDI EFT PREAUTHORIZED PRE AUTH RECURRING TO FROM LLC INC CORP"
    " LTD THE OF NAME"
)
_NOISE_WORDS = frozenset(_NOISE.split())


def classify_event(description: str) -> EventKind | None:
    """The NSF/overdraft/returned-item kind a transaction's description names, if any."""
    for kind, pattern in _EVENT_PATTERNS:
        if pattern.search(description):
            return kind
    return None


def lender_name(description: str) -> str | None:
    """The lender a debit pays ("ACH DEBIT XYZ FUNDING LLC 0412" → "XYZ FUNDING"), or None.

    The name is the lender word ("FUNDING", "CAPITAL", ...) and up to two words before it, after
    dropping digits and the words banks wrap around ACH counterparties.
    """
    words = [w for w in re.sub(r"[^A-Z]+", " ", description.upper()).split() if w not in _NOISE_WORDS]
    for index, word in enumerate(words):
        if _LENDER_WORD.match(word):
            return " ".join(words[max(0, index - 2) : index + 1])
    return None


# --- Categories ----------------------------------------------------------------------------------


class TransactionCategory(models.TextChoices):
    """What a transaction is; `categorize` decides, docs/underwriting.md explains."""

    REVENUE = "revenue", "Revenue"
    OWN_TRANSFER = "own_transfer", "Transfer between own accounts"
    LENDER_FUNDING = "lender_funding", "Lender funding"
    LENDER_REPAYMENT = "lender_repayment", "Lender repayment"
    NSF_FEE = "nsf_fee", "NSF fee"
    OVERDRAFT_FEE = "overdraft_fee", "Overdraft fee"
    CARD_SETTLEMENT = "card_settlement", "Card settlement"
    PAYROLL = "payroll", "Payroll"
    TAX = "tax", "Tax"
    OTHER = "other", "Other"


CATEGORIES: tuple[str, ...] = tuple(TransactionCategory.values)
# A deposit of one of these categories is revenue (unless an underwriter says otherwise).
REVENUE_CATEGORIES = frozenset({TransactionCategory.REVENUE, TransactionCategory.CARD_SETTLEMENT})

# Money moved between the merchant's own accounts: a transfer word next to an account word, or
# a phrase banks only use for such moves (English, German, French, Spanish, Dutch, Italian).
_OWN_TRANSFER = re.compile(
    r"\b(?:INTERNAL|BOOK|SWEEP|INTRA[- ]?BANK)\s+(?:TRANSFER|XFER|TRF)\b"
    r"|\bTRANSFER\s+BETWEEN\s+(?:MY\s+|OWN\s+)?ACCOUNTS\b|\bOWN\s+ACCOUNTS?\b|\bSWEEP\b"
    r"|\b(?:TRANSFER|XFER|TRF|TFR)\b.{0,30}\b(?:FROM|TO)\b.{0,12}"
    r"\b(?:CHK|CHECKING|CHEQUING|SAV|SAVINGS|SHARE|MONEY\s+MARKET|ACCT|ACCOUNT)\b"
    r"|\bUMBUCHUNG\b|\bÜBERTRAG\b|\bUEBERTRAG\b|\bVIREMENT\s+INTERNE\b|\bTRASPASO\b"
    r"|\bEIGEN\s+REKENING\b|\bGIROCONTO\s+PROPRIO\b",
    re.I,
)
# Card processors' settlement deposits (and their fees and chargebacks when negative).
_CARD_SETTLEMENT = re.compile(
    r"\bSTRIPE\b|\bSQUARE\b|\bSQ\s*\*|\bCLOVER\b|\bTOAST\b|\bSHOPIFY\b|\bPAYPAL\b|\bADYEN\b|\bSUMUP\b"
    r"|\bZETTLE\b|\bWORLDPAY\b|\bELAVON\b|\bHEARTLAND\b|\bFIRST\s+DATA\b|\bGLOBAL\s+PAYMENTS\b"
    r"|\bBANKCARD\b|\bMERCHANT\s+(?:DEPOSIT|SETTLEMENT|SERVICES?|BNKCD)\b|\bCARD\s+SETTLEMENT\b"
    r"|\b(?:AMEX|AMERICAN\s+EXPRESS|VISA|MASTERCARD|DISCOVER)\s+(?:SETTLEMENT|SETTLE|DEPOSIT)\b",
    re.I,
)
_PAYROLL = re.compile(
    r"\bPAYROLL\b|\bADP\b|\bGUSTO\b|\bPAYCHEX\b|\bSALARY\b|\bSALARIES\b|\bWAGES?\b|\bLOHN\b"
    r"|\bGEHALT\b|\bSALAIRES?\b|\bN[ÓO]MINA\b|\bSALARIS\b|\bSTIPENDI?\b",
    re.I,
)
_TAX = re.compile(
    r"\bIRS\b|\bEFTPS\b|\bUS\s+TREASURY\b|\bTREAS\s+TAX\b|\bHMRC\b|\bFINANZAMT\b|\bSALES\s+TAX\b"
    r"|\bDEPT\.?\s+OF\s+REVENUE\b|\bDEPARTMENT\s+OF\s+REVENUE\b|\bFRANCHISE\s+TAX\b|\bTAX\s+PAYMENT\b"
    r"|\b(?:FEDERAL|STATE|PAYROLL|INCOME)\s+TAX\b|\bVAT\b|\bUST\b|\bSTEUER\w*\b|\bIMPUESTOS?\b"
    r"|\bIMP[ÔO]TS?\b|\bDGFIP\b|\bBELASTINGDIENST\b|\bAGENZIA\s+ENTRATE\b",
    re.I,
)
_NOT_AN_ACCOUNT = re.compile(r"[^0-9A-Z]")


def _account_key(value: str) -> str:
    return _NOT_AN_ACCOUNT.sub("", value.upper())


def categorize(
    transaction: Transaction, *, own_accounts: frozenset[str] = frozenset()
) -> TransactionCategory:
    """The category of one transaction; the first rule that matches wins (docs/underwriting.md).

    `own_accounts` are the account numbers the file itself holds (normalised with
    `_account_key`): a transaction whose counterparty is one of them is an own transfer.
    """
    text = transaction.description
    if transaction.counterparty:
        text = f"{text} {transaction.counterparty}"
        if own_accounts and _account_key(transaction.counterparty) in own_accounts:
            return TransactionCategory.OWN_TRANSFER
    event = classify_event(text)
    if event == "nsf":
        return TransactionCategory.NSF_FEE
    if event == "overdraft":
        return TransactionCategory.OVERDRAFT_FEE
    if _OWN_TRANSFER.search(text):
        return TransactionCategory.OWN_TRANSFER
    # One place decides what a lender looks like: the same names loan-stacking screening reads.
    if lender_name(text) is not None:
        return (
            TransactionCategory.LENDER_FUNDING
            if transaction.amount > 0
            else TransactionCategory.LENDER_REPAYMENT
        )
    if _CARD_SETTLEMENT.search(text):
        return TransactionCategory.CARD_SETTLEMENT
    if _TAX.search(text):
        return TransactionCategory.TAX
    if transaction.amount > 0:
        # A returned item on the way in is money the merchant had already counted once.
        return TransactionCategory.OTHER if event == "returned_item" else TransactionCategory.REVENUE
    if _PAYROLL.search(text):
        return TransactionCategory.PAYROLL
    return TransactionCategory.OTHER


def counts_as_revenue(
    transaction: Transaction, category: str, account_type: AccountType = "checking"
) -> bool:
    """The revenue definition: a deposit of a revenue category, on an account that is not a card.

    On a credit-card statement a positive amount is a payment towards the card (or a refund),
    never money the business earned.
    """
    return transaction.amount > 0 and category in REVENUE_CATEGORIES and account_type != "credit_card"


def own_account_keys(statement: ParsedStatement) -> frozenset[str]:
    """The account numbers a file holds, normalised for comparing with counterparties."""
    keys = {_account_key(account) for account in statement.accounts}
    keys.update(_account_key(b.account) for b in statement.account_balances if b.account)
    return frozenset(key for key in keys if len(key) >= 4)


def categorize_statement(statement: ParsedStatement) -> tuple[list[str], list[bool]]:
    """The category of every transaction of a statement and whether it counts as revenue."""
    categories = categorize_all(statement.transactions, own_accounts=own_account_keys(statement))
    counted = revenue_mask(statement.transactions, categories, statement.account_type)
    return categories, counted


def categorize_all(
    transactions: Sequence[Transaction], *, own_accounts: frozenset[str] = frozenset()
) -> list[str]:
    """`categorize` for each transaction, in order."""
    # Statements repeat the same descriptions many times (a card processor's daily settlement,
    # the same supplier); the patterns run once per distinct text and direction.
    seen: dict[tuple[str, str | None, bool], TransactionCategory] = {}
    result: list[str] = []
    for t in transactions:
        key = (t.description, t.counterparty, t.amount > 0)
        category = seen.get(key)
        if category is None:
            category = seen[key] = categorize(t, own_accounts=own_accounts)
        result.append(category)
    return result


def revenue_mask(
    transactions: Sequence[Transaction], categories: Sequence[str], account_type: AccountType = "checking"
) -> list[bool]:
    """`counts_as_revenue` for each transaction, in order."""
    return [
        counts_as_revenue(t, category, account_type)
        for t, category in zip(transactions, categories, strict=True)
    ]
