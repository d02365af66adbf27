"""OFX/QFX statements (SGML 1.x and XML 2.x): every bank and card statement a file holds.

ofxtools' tree builder reads the markup; when it refuses (tags closed out of order, stray closing
tags) a small tolerant reader of ours builds the tree instead. The few fields a statement needs
are read here rather than through ofxtools' models, because those refuse quirks real producers
emit (lower-case enumerations, an empty FITID, a missing optional aggregate) that say nothing
about the money. Dates and amounts stay strict, and every refusal is in plain words.
"""

from __future__ import annotations

import datetime
import html
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ofxtools.Parser import TreeBuilder

from deals.parsing.statement import (
    MAX_TRANSACTIONS,
    AccountBalances,
    AccountType,
    Finding,
    ParsedStatement,
    StatementError,
    Transaction,
    round_half_up,
)
from deals.parsing.values import safe_date

# How far a stated DTSTART/DTEND may lie outside the transactions and still be believed. Banks
# serve downloads for "the last 90 days", so a quiet quarter is plausible; a period years wider
# than the data (seen in real exports) is not.
PERIOD_SLACK_DAYS = 92
NOT_A_BANK_STATEMENT = "This is an investment positions file, not a bank statement"

_OFX_START = re.compile(r"<OFX>", re.I)
_OFX_END = re.compile(r"</OFX>\s*$", re.I)
# Empty leaf elements such as <LANGUAGE></LANGUAGE> look like empty aggregates to ofxtools.
_EMPTY_ELEMENT = re.compile(r"<([A-Z0-9.]+)>\s*</\1>")
# Tags in lower case are legal XML but ofxtools' tag pattern only accepts upper case.
_TAG = re.compile(r"</?[A-Za-z0-9._]+>")
# The tolerant reader's tokens: a tag, a run of text, or a stray "<" that starts no tag.
_TOKEN = re.compile(r"<(/?)([A-Za-z0-9._]+)>|[^<]+|<")
_OFX_DATE = re.compile(r"\s*(\d{4})(\d{2})(\d{2})")
# OFX allows a comma as the decimal mark; thousands separators are not part of the format.
_OFX_AMOUNT = re.compile(r"[+-]?(?:\d{1,15}(?:[.,]\d*)?|[.,]\d{1,15})")
# The sign a transaction type implies. PAYMENT, XFER and OTHER say nothing: a card payment is
# an inflow to the card and an outflow from the bank.
_TYPE_SIGNS = {
    "CREDIT": 1, "DEP": 1, "INT": 1, "DIV": 1, "DIRECTDEP": 1,
    "DEBIT": -1, "CHECK": -1, "ATM": -1, "POS": -1, "FEE": -1, "SRVCHG": -1, "DIRECTDEBIT": -1, "CASH": -1,
}  # fmt: skip
_STATEMENT_TAGS = frozenset({"STMTRS", "CCSTMTRS", "INVSTMTRS"})
_ACCOUNT_TYPES: dict[str, AccountType] = {
    "CHECKING": "checking",
    "SAVINGS": "savings",
    "MONEYMRKT": "savings",
    "CD": "savings",
}


def _malformed(detail: str) -> StatementError:
    return StatementError(f"Malformed OFX: {detail}")


def _quoted(raw: str) -> str:
    text = " ".join(raw.split())
    return f"'{text[:40]}...'" if len(text) > 40 else f"'{text}'"


def _body(text: str) -> str:
    start = _OFX_START.search(text)
    if start is None:
        raise _malformed("no <OFX> element")
    body = text[start.start() :].strip()
    # A tree can be built from a cut-off file; a truncated download must not pass for a
    # statement with fewer transactions.
    if not _OFX_END.search(body):
        raise _malformed("the file is truncated (no closing </OFX>)")
    body = _TAG.sub(lambda m: m.group(0).upper(), body)
    return _EMPTY_ELEMENT.sub("", body)


def _tree(body: str) -> ET.Element | None:
    builder = TreeBuilder()
    try:
        builder.feed(body)
        return builder.close()
    except Exception:
        # ofxtools refuses markup that real producers emit; its reasons are not for users.
        return _lenient_tree(body)


def _lenient_tree(body: str) -> ET.Element | None:
    """Build the element tree from SGML or XML that need not be well formed.

    An element that receives text is a leaf: SGML leaves are never closed, so the next tag ends
    it. A closing tag closes everything opened since its element; a closing tag of an element
    that is not open is ignored.
    """
    root = ET.Element("ROOT")
    stack = [root]
    open_tags: Counter[str] = Counter()
    leaf: ET.Element | None = None
    for match in _TOKEN.finditer(body):
        tag = match[2]
        if tag is None:
            if stack[-1] is not root and match[0].strip():
                stack[-1].text = (stack[-1].text or "") + match[0]
                leaf = stack[-1]
            continue
        if match[1]:
            if open_tags[tag]:
                while True:
                    closed = stack.pop()
                    open_tags[closed.tag] -= 1
                    if closed.tag == tag:
                        break
            leaf = None
            continue
        if leaf is not None and stack[-1] is leaf:
            stack.pop()
            open_tags[leaf.tag] -= 1
        leaf = None
        element = ET.SubElement(stack[-1], tag)
        stack.append(element)
        open_tags[tag] += 1
    return root[0] if len(root) else None


def _text(element: ET.Element, path: str) -> str:
    return " ".join((element.findtext(path) or "").split())


def _date(raw: str) -> datetime.date | None:
    """The calendar date as the bank wrote it (converting to UTC could shift the day)."""
    match = _OFX_DATE.match(raw)
    if not match or not 1900 <= int(match[1]) <= 2200:
        return None
    return safe_date(int(match[1]), int(match[2]), int(match[3]))


def _amount(raw: str, what: str) -> Decimal:
    """A strict OFX amount, exact (rounding to cents happens once, where it is counted)."""
    text = raw.replace(" ", "")
    if not text:
        raise _malformed(f"{what} has no amount")
    if not _OFX_AMOUNT.fullmatch(text):
        raise _malformed(f"{what}: the amount {_quoted(raw)} is not a number")
    return Decimal(text.replace(",", "."))


@dataclass
class _Notes:
    """What reading the transactions noticed, for the statement's warnings: amounts with
    fractions of a cent (quantised to cents), and amounts whose sign contradicts their type."""

    rounded: list[int] = field(default_factory=list)
    typed: int = 0
    contradicting: list[int] = field(default_factory=list)

    def cents(self, value: Decimal, row: int | None = None) -> Decimal:
        rounded = round_half_up(value)
        if rounded != value and row is not None:
            self.rounded.append(row)
        return rounded

    def check_sign(self, trntype: str, amount: Decimal, row: int) -> None:
        expected = _TYPE_SIGNS.get(trntype.upper())
        if expected is None or not amount:
            return
        self.typed += 1
        if (amount > 0) != (expected > 0):
            self.contradicting.append(row)

    @property
    def signs_inverted(self) -> bool:
        return len(self.contradicting) >= 3 and len(self.contradicting) * 5 >= self.typed * 4


@dataclass
class _Statement:
    """One STMTRS or CCSTMTRS: its account, transactions, ledger balance and stated period."""

    account: str | None
    account_type: AccountType
    currency: str | None
    transactions: list[Transaction]
    ledger: Decimal | None = None
    ledger_covers_transactions: bool = False
    stated_start: datetime.date | None = None
    stated_end: datetime.date | None = None

    @property
    def opening(self) -> Decimal | None:
        # The ledger balance is the balance after the listed transactions only when it is dated
        # on or after the last of them; then the opening balance follows by subtraction.
        if self.ledger is None or not self.ledger_covers_transactions:
            return None
        return self.ledger - sum((t.amount for t in self.transactions), Decimal(0))


def _description(element: ET.Element) -> tuple[str, str | None]:
    """The description (NAME or the payee's name, plus MEMO when it adds something) and the name."""
    name = html.unescape(_text(element, "NAME") or _text(element, "PAYEE/NAME"))
    memo = html.unescape(_text(element, "MEMO"))
    if name and memo and memo not in name and name not in memo:
        description = f"{name} {memo}"
    else:
        description = name or memo
    if not description and _text(element, "CHECKNUM"):
        description = f"Check {_text(element, 'CHECKNUM')}"
    return " ".join(description.split()), name or None


@dataclass
class _Aggregate:
    """A statement aggregate with its transaction lists, each with the STMTTRNs that are its own."""

    element: ET.Element
    lists: list[tuple[ET.Element | None, list[ET.Element]]] = field(default_factory=list)


def _aggregates(root: ET.Element) -> list[_Aggregate]:
    """Every statement aggregate in document order, with the lists and transactions it owns.

    A transaction belongs to its nearest statement and list: in a malformed file where an
    aggregate was never closed, a statement nested in another keeps its own transactions
    instead of lending them to the outer one (which would count them twice). The walk is
    iterative, so a hostile nesting depth cannot exhaust the stack.
    """
    found: list[_Aggregate] = []
    stack: list[tuple[ET.Element, _Aggregate | None, list[ET.Element] | None]] = [(root, None, None)]
    while stack:
        element, owner, current = stack.pop()
        if element.tag in _STATEMENT_TAGS:
            owner, current = _Aggregate(element), None
            found.append(owner)
        elif owner is not None and element.tag == "BANKTRANLIST":
            current = []
            owner.lists.append((element, current))
        elif owner is not None and element.tag == "STMTTRN":
            if current is None:  # a transaction outside any list: read it all the same
                current = []
                owner.lists.append((None, current))
            current.append(element)
        stack.extend((child, owner, current) for child in reversed(element))
    return found


def _read_statement(aggregate: _Aggregate, label: str | None, first_row: int, notes: _Notes) -> _Statement:
    element = aggregate.element
    card = element.tag == "CCSTMTRS"
    account = _text(element, "CCACCTFROM/ACCTID" if card else "BANKACCTFROM/ACCTID") or label
    kind = _text(element, "BANKACCTFROM/ACCTTYPE").upper()
    account_type: AccountType = "credit_card" if card else _ACCOUNT_TYPES.get(kind, "checking")
    statement = _Statement(account, account_type, _text(element, "CURDEF").upper() or None, [])
    starts: list[datetime.date] = []
    ends: list[datetime.date] = []
    row = first_row
    for tranlist, stmttrns in aggregate.lists:
        if tranlist is not None:
            starts.extend(d for d in [_date(_text(tranlist, "DTSTART"))] if d is not None)
            ends.extend(d for d in [_date(_text(tranlist, "DTEND"))] if d is not None)
        own: list[Transaction] = []
        for stmttrn in stmttrns:
            if row > MAX_TRANSACTIONS:
                raise StatementError(f"The file has more than {MAX_TRANSACTIONS:,} transactions")
            own.append(_transaction(stmttrn, account, row, notes))
            row += 1
        if own and own[0].date > own[-1].date:
            # Listed newest first: reversed, so transactions of one day keep their real order.
            own.reverse()
        statement.transactions.extend(own)
    statement.stated_start = min(starts, default=None)
    statement.stated_end = max(ends, default=None)
    ledger = element.find("LEDGERBAL")
    if ledger is not None and _text(ledger, "BALAMT"):
        what = f"the ledger balance of account {account}" if account else "the ledger balance"
        statement.ledger = notes.cents(_amount(_text(ledger, "BALAMT"), what))
        as_of = _date(_text(ledger, "DTASOF"))
        last = max((t.date for t in statement.transactions), default=None)
        statement.ledger_covers_transactions = last is None or (as_of is not None and as_of >= last)
    return statement


def _transaction(stmttrn: ET.Element, account: str | None, row: int, notes: _Notes) -> Transaction:
    what = f"transaction {row}"
    raw_date = _text(stmttrn, "DTPOSTED")
    posted = _date(raw_date)
    if posted is None:
        if not raw_date:
            raise _malformed(f"{what} has no date")
        raise _malformed(f"{what}: the date {_quoted(raw_date)} is not a valid date")
    amount = notes.cents(_amount(_text(stmttrn, "TRNAMT"), what), row)
    notes.check_sign(_text(stmttrn, "TRNTYPE"), amount, row)
    description, name = _description(stmttrn)
    return Transaction(posted, description[:500], amount, None, account, name, row)


def _period(statement: _Statement) -> tuple[datetime.date, datetime.date, dict[str, Any] | None]:
    """The statement period: the stated bounds when plausible, else the transactions' dates.

    A stated start is believed when it lies on or up to PERIOD_SLACK_DAYS before the first
    transaction (the end likewise after the last); a bound outside that is replaced by the
    transaction date, and the evidence says what the file stated.
    """
    days = [t.date for t in statement.transactions]
    first, last = min(days), max(days)
    slack = datetime.timedelta(days=PERIOD_SLACK_DAYS)
    start, end = statement.stated_start, statement.stated_end
    replaced: dict[str, Any] = {}
    if start is None or not first - slack <= start <= first:
        if start is not None:
            replaced["stated_start"] = start.isoformat()
        start = first
    if end is None or not last <= end <= last + slack:
        if end is not None:
            replaced["stated_end"] = end.isoformat()
        end = last
    if not replaced:
        return start, end, None
    evidence = {"account": statement.account, **replaced}
    evidence.update(first_transaction=first.isoformat(), last_transaction=last.isoformat())
    return start, end, evidence


def parse_ofx(text: str) -> ParsedStatement:
    """Parse OFX/QFX text into a statement; raises StatementError with the reason."""
    root = _tree(_body(text))
    if root is None:  # "<OFX></OFX>": a valid header and nothing in it
        raise StatementError("No transactions found in the file")
    aggregates = _aggregates(root)
    elements = [a for a in aggregates if a.element.tag != "INVSTMTRS"]
    investments = len(aggregates) - len(elements)
    if not elements and investments:
        raise StatementError(NOT_A_BANK_STATEMENT)
    if not elements:
        _raise_server_error(root)

    notes = _Notes()
    statements: list[_Statement] = []
    for number, aggregate in enumerate(elements, start=1):
        # Several accounts must stay apart: one without an account id is named by its position.
        label = f"statement {number}" if len(elements) > 1 else None
        first_row = sum(len(s.transactions) for s in statements) + 1
        statements.append(_read_statement(aggregate, label, first_row, notes))
    transactions = sorted((t for s in statements for t in s.transactions), key=lambda t: t.date)
    if not transactions:
        raise StatementError("No transactions found in the file")

    warnings = _reading_findings(notes, investments)
    periods = [_period(s) for s in statements if s.transactions]
    warnings.extend(Finding("implausible_period", _IMPLAUSIBLE_PERIOD, e) for _, _, e in periods if e)
    currencies = {s.currency for s in statements if s.currency}
    if len(currencies) > 1:
        warnings.append(
            Finding(
                "mixed_currencies",
                "The file's accounts are in different currencies",
                {"accounts": [{"account": s.account, "currency": s.currency} for s in statements]},
            )
        )
    types = {s.account_type for s in statements}
    # Checking and savings accounts read alike; a card among bank accounts does not.
    account_type: AccountType = next(iter(types)) if len(types) == 1 else "checking"
    if len(types) > 1 and "credit_card" in types:
        account_type = "unknown"
        cards = [s.account for s in statements if s.account_type == "credit_card"]
        warnings.append(
            Finding(
                "mixed_account_types",
                "The file holds both bank and credit card accounts; card balances are not bank balances",
                {"card_accounts": cards},
            )
        )
    opening, closing = _bank_balances(statements)
    return ParsedStatement(
        format="ofx",
        transactions=tuple(transactions),
        currency=currencies.pop() if len(currencies) == 1 else None,
        accounts=tuple(dict.fromkeys(s.account for s in statements if s.account)),
        opening_balance=opening,
        opening_balance_derived=opening is not None,
        closing_balance=closing,
        period_start=min(start for start, _, _ in periods),
        period_end=max(end for _, end, _ in periods),
        account_type=account_type,
        account_balances=tuple(
            AccountBalances(s.account, s.opening, s.ledger, s.currency) for s in statements
        ),
        warnings=tuple(warnings),
    )


def _raise_server_error(root: ET.Element) -> None:
    """A download the bank refused holds its error status instead of a statement: say so."""
    for status in root.iter("STATUS"):
        if _text(status, "SEVERITY").upper() == "ERROR":
            message = _text(status, "MESSAGE")
            detail = f" (code {_text(status, 'CODE') or '?'}{': ' + _quoted(message) if message else ''})"
            raise StatementError(f"The bank sent an error instead of a statement{detail}")


_IMPLAUSIBLE_PERIOD = (
    "The statement period stated in the file does not fit its transactions; "
    "the period runs from the first to the last transaction instead"
)


def _reading_findings(notes: _Notes, investments: int) -> list[Finding]:
    findings: list[Finding] = []
    if notes.rounded:
        findings.append(
            Finding(
                "amounts_rounded",
                f"{len(notes.rounded)} amount(s) had fractions of a cent and were rounded to cents",
                {"rows": notes.rounded[:20]},
            )
        )
    if notes.signs_inverted:
        # Not flipped: the amounts are what the file says. But a file whose debits are positive
        # would count purchases as revenue, so the underwriter is told.
        findings.append(
            Finding(
                "signs_contradict_types",
                "Most amounts have the opposite sign of their transaction type (a DEBIT with a "
                "positive amount, a CREDIT with a negative one): the file's signs may be inverted",
                {"typed_transactions": notes.typed, "contradicting_rows": notes.contradicting[:20]},
            )
        )
    if investments:
        findings.append(
            Finding(
                "investment_account_skipped",
                "The file also holds an investment account; only its bank and card accounts were read",
                {"investment_statements": investments},
            )
        )
    return findings


def _bank_balances(statements: list[_Statement]) -> tuple[Decimal | None, Decimal | None]:
    """The file's opening and closing balance: the sums over its bank accounts, when every one
    states them in one currency. A card's ledger balance is an amount owed, never a bank balance:
    it stays in that account's `AccountBalances`."""
    banks = [s for s in statements if s.account_type != "credit_card"]
    if not banks or len({s.currency for s in banks}) > 1:
        return None, None
    ledgers = [s.ledger for s in banks if s.ledger is not None]
    if len(ledgers) < len(banks):
        return None, None
    openings = [s.opening for s in banks if s.opening is not None]
    opening = sum(openings, Decimal("0.00")) if len(openings) == len(banks) else None
    return opening, sum(ledgers, Decimal("0.00"))
