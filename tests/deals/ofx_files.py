"""Builders for OFX 1.x (SGML) files in the shapes real producers emit, quirks included."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

Entry = tuple[str, str, str]  # (YYYYMMDD, amount, name)

_LEAF = re.compile(r"^(\s*)<([A-Z0-9.]+)>([^<\n]+)$", re.M)


def stmttrn(day: str, amount: str, name: str, *, trntype: str | None = None, fitid: str = "") -> str:
    kind = trntype or ("CREDIT" if not amount.startswith("-") else "DEBIT")
    return (
        f"<STMTTRN>\n<TRNTYPE>{kind}\n<DTPOSTED>{day}120000[-5:EST]\n<TRNAMT>{amount}\n"
        f"<FITID>{fitid}\n<NAME>{name}\n</STMTTRN>\n"
    )


def bank_statement(
    entries: Iterable[Entry],
    *,
    account: str = "100200300",
    currency: str = "USD",
    account_type: str = "CHECKING",
    start: str = "20240101",
    end: str = "20240131",
    ledger: str | None = "0.00",
    ledger_as_of: str = "20240131",
    trntype: str | None = None,
) -> str:
    """One STMTTRNRS with a STMTRS aggregate (a bank account)."""
    return (
        "<STMTTRNRS>\n<TRNUID>1\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n<STMTRS>\n"
        f"<CURDEF>{currency}\n<BANKACCTFROM>\n<BANKID>121000248\n<ACCTID>{account}\n"
        f"<ACCTTYPE>{account_type}\n</BANKACCTFROM>\n"
        + _tranlist(entries, start, end, trntype)
        + _ledger(ledger, ledger_as_of)
        + "</STMTRS>\n</STMTTRNRS>\n"
    )


def card_statement(
    entries: Iterable[Entry],
    *,
    account: str = "4111000011112222",
    start: str = "20240101",
    end: str = "20240131",
    ledger: str | None = "0.00",
) -> str:
    """One CCSTMTTRNRS with a CCSTMTRS aggregate (a credit card account)."""
    return (
        "<CCSTMTTRNRS>\n<TRNUID>1\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n<CCSTMTRS>\n"
        f"<CURDEF>USD\n<CCACCTFROM>\n<ACCTID>{account}\n</CCACCTFROM>\n"
        + _tranlist(entries, start, end, None)
        + _ledger(ledger, end)
        + "</CCSTMTRS>\n</CCSTMTTRNRS>\n"
    )


def investment_statement() -> str:
    """A positions-only investment statement (INVSTMTRS) with no bank transactions."""
    return (
        "<INVSTMTTRNRS>\n<TRNUID>1\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n<INVSTMTRS>\n"
        "<DTASOF>20240131\n<CURDEF>USD\n<INVACCTFROM>\n<BROKERID>broker.example\n<ACCTID>X77\n"
        "</INVACCTFROM>\n<INVPOSLIST>\n<POSSTOCK>\n<INVPOS>\n<SECID>\n<UNIQUEID>037833100\n"
        "<UNIQUEIDTYPE>CUSIP\n</SECID>\n<HELDINACCT>CASH\n<POSTYPE>LONG\n<UNITS>100\n"
        "<UNITPRICE>185.50\n<MKTVAL>18550.00\n<DTPRICEASOF>20240131\n</INVPOS>\n</POSSTOCK>\n"
        "</INVPOSLIST>\n</INVSTMTRS>\n</INVSTMTTRNRS>\n"
    )


def ofx_file(bank: Sequence[str] = (), cards: Sequence[str] = (), investments: Sequence[str] = ()) -> bytes:
    """An OFX 1.02 SGML file (leaves never closed) holding the given statement aggregates."""
    body = ""
    if bank:
        body += "<BANKMSGSRSV1>\n" + "".join(bank) + "</BANKMSGSRSV1>\n"
    if cards:
        body += "<CREDITCARDMSGSRSV1>\n" + "".join(cards) + "</CREDITCARDMSGSRSV1>\n"
    if investments:
        body += "<INVSTMTMSGSRSV1>\n" + "".join(investments) + "</INVSTMTMSGSRSV1>\n"
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
        "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX>\n<SIGNONMSGSRSV1>\n<SONRS>\n"
        "<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n<DTSERVER>20240201\n<LANGUAGE>ENG\n"
        "</SONRS>\n</SIGNONMSGSRSV1>\n" + body + "</OFX>\n"
    ).encode("cp1252")


def close_every_tag(data: bytes) -> bytes:
    """The same SGML with every leaf closed (`<CODE>0</CODE>`), as some producers write it."""
    return _LEAF.sub(r"\1<\2>\3</\2>", data.decode("cp1252")).encode("cp1252")


def _tranlist(entries: Iterable[Entry], start: str, end: str, trntype: str | None) -> str:
    rows = "".join(
        stmttrn(day, amount, name, trntype=trntype, fitid=f"F{n}")
        for n, (day, amount, name) in enumerate(entries, start=1)
    )
    return f"<BANKTRANLIST>\n<DTSTART>{start}\n<DTEND>{end}\n{rows}</BANKTRANLIST>\n"


def _ledger(ledger: str | None, as_of: str) -> str:
    if ledger is None:
        return ""
    return f"<LEDGERBAL>\n<BALAMT>{ledger}\n<DTASOF>{as_of}\n</LEDGERBAL>\n"
