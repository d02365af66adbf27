"""OFX/QFX statements (SGML 1.x and XML 2.x) read through ofxtools.

ofxtools' tree builder does the parsing and its models do the typed conversion; this module
only strips the header, checks the file is complete, and converts each statement's pieces
separately so a quirk in an unrelated part of a real-world file (sign-on block, missing
optional aggregate) does not sink its transactions.
"""

from __future__ import annotations

import datetime
import html
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from ofxtools.models.base import Aggregate
from ofxtools.Parser import TreeBuilder

from deals.parsing.statement import ParsedStatement, StatementError, Transaction

MAX_TRANSACTIONS = 100_000
_OFX_START = re.compile(r"<OFX>", re.I)
_OFX_END = re.compile(r"</OFX>\s*$", re.I)
# Empty leaf elements such as <LANGUAGE></LANGUAGE> look like empty aggregates to ofxtools.
_EMPTY_ELEMENT = re.compile(r"<([A-Z0-9.]+)>\s*</\1>")
# Tags in lower case are legal XML but ofxtools' tag pattern only accepts upper case.
_TAG = re.compile(r"</?[A-Za-z0-9._]+>")
_OFX_DATE = re.compile(r"\s*(\d{4})(\d{2})(\d{2})")


def _malformed(detail: object) -> StatementError:
    text = " ".join(str(detail).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return StatementError(f"Malformed OFX: {text}")


def _body(text: str) -> str:
    start = _OFX_START.search(text)
    if start is None:
        raise _malformed("no <OFX> element")
    body = text[start.start() :].strip()
    # ofxtools happily builds a tree from a cut-off file; a truncated download must not pass
    # for a statement with fewer transactions.
    if not _OFX_END.search(body):
        raise _malformed("the file is truncated (no closing </OFX>)")
    body = _TAG.sub(lambda m: m.group(0).upper(), body)
    return _EMPTY_ELEMENT.sub("", body)


def _raw_date(element: ET.Element, tag: str) -> datetime.date | None:
    """The calendar date as the bank wrote it; ofxtools converts to UTC, which can shift the day."""
    match = _OFX_DATE.match(element.findtext(tag) or "")
    if not match:
        return None
    try:
        return datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _convert(element: ET.Element, what: str) -> Any:
    try:
        return Aggregate.from_etree(element)
    except Exception as exc:
        # ofxtools signals invalid values with ValueError subclasses, and unknown or missing
        # elements with assorted others; all of them mean the same thing to the user.
        raise _malformed(f"{what}: {exc}") from exc


def _description(stmttrn: Any) -> str:
    payee = getattr(stmttrn, "payee", None)
    name = stmttrn.name or (payee.name if payee is not None else None) or ""
    memo = stmttrn.memo or ""
    parts = [name]
    if memo and memo not in name and name not in memo:
        parts.append(memo)
    elif memo and not name:
        parts = [memo]
    return " ".join(html.unescape(" ".join(p for p in parts if p)).split())


def parse_ofx(text: str) -> ParsedStatement:
    """Parse OFX/QFX text into a statement; raises StatementError with the reason."""
    builder = TreeBuilder()
    try:
        builder.feed(_body(text))
        root = builder.close()
    except StatementError:
        raise
    except Exception as exc:
        raise _malformed(exc) from exc

    if root is None:  # "<OFX></OFX>": a valid header and nothing in it
        raise StatementError("No transactions found in the file")
    statements = [e for e in root.iter() if e.tag in ("STMTRS", "CCSTMTRS")]
    transactions: list[Transaction] = []
    currencies: list[str] = []
    accounts: list[str] = []
    ledger_total: Decimal | None = Decimal(0)
    ledger_covers_all = True
    starts: list[datetime.date] = []
    ends: list[datetime.date] = []
    for statement in statements:
        account = (
            statement.findtext("BANKACCTFROM/ACCTID") or statement.findtext("CCACCTFROM/ACCTID") or ""
        ).strip()
        currency = (statement.findtext("CURDEF") or "").strip().upper()
        if currency:
            currencies.append(currency)
        if account:
            accounts.append(account)
        tranlist = statement.find("BANKTRANLIST")
        own: list[Transaction] = []
        if tranlist is not None:
            for bound, found in (("DTSTART", starts), ("DTEND", ends)):
                day = _raw_date(tranlist, bound)
                if day is not None:
                    found.append(day)
            for element in tranlist.findall("STMTTRN"):
                number = len(transactions) + len(own) + 1
                if number > MAX_TRANSACTIONS:
                    raise StatementError(f"The file has more than {MAX_TRANSACTIONS:,} transactions")
                stmttrn = _convert(element, f"transaction {number}")
                posted = _raw_date(element, "DTPOSTED") or stmttrn.dtposted.date()
                own.append(Transaction(posted, _description(stmttrn), stmttrn.trnamt, None, account or None))
        transactions.extend(own)
        ledger = statement.find("LEDGERBAL")
        if ledger is None or ledger_total is None:
            ledger_total = None
            continue
        balance = _convert(ledger, "ledger balance")
        ledger_total += balance.balamt
        as_of = _raw_date(ledger, "DTASOF")
        if own and (as_of is None or as_of < max(t.date for t in own)):
            ledger_covers_all = False

    if not transactions:
        raise StatementError("No transactions found in the file")
    transactions.sort(key=lambda t: t.date)
    closing = ledger_total
    # The ledger balance is the balance after the listed transactions only when it is dated on
    # or after the last of them; then the opening balance follows by subtraction.
    opening = None
    if closing is not None and ledger_covers_all:
        opening = closing - sum((t.amount for t in transactions), Decimal(0))
    return ParsedStatement(
        format="ofx",
        transactions=tuple(transactions),
        currency=currencies[0] if currencies and len(set(currencies)) == 1 else None,
        accounts=tuple(dict.fromkeys(accounts)),
        opening_balance=opening,
        opening_balance_derived=opening is not None,
        closing_balance=closing,
        period_start=min(starts) if starts else None,
        period_end=max(ends) if ends else None,
    )
