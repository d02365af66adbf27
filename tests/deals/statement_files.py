"""Builders for the statement files the parsing tests feed in: CSV, OFX 2.x, text and image PDFs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw

# The repo is checked out with shared/ beside it: /work/main and /work/shared.
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "statements"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def csv_bytes(
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    preamble: Iterable[Sequence[object]] = (),
) -> bytes:
    """A CSV file: preamble rows (account, period...) then the header and data rows."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in preamble:
        writer.writerow(row)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode(encoding)


def text_pdf(lines: Iterable[str]) -> bytes:
    """A PDF with a real text layer, one line of text per entry."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in lines:
        if pdf.get_y() > 270:
            pdf.add_page()
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def image_pdf() -> bytes:
    """A scanned-looking PDF: one embedded PNG picture of a statement and no text at all."""
    picture = Image.new("RGB", (400, 200), "white")
    draw = ImageDraw.Draw(picture)
    for y in range(20, 200, 30):
        draw.rectangle((20, y, 380, y + 10), fill="black")
    png = io.BytesIO()
    picture.save(png, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(png.getvalue()), x=10, y=10, w=180)
    return bytes(pdf.output())


def ofx_v2(
    transactions: Iterable[tuple[str, str, str]], *, currency: str = "USD", balance: str = "0"
) -> bytes:
    """An OFX 2.x (XML) bank statement; transactions are (YYYYMMDD, amount, name)."""
    entries = "".join(
        f"<STMTTRN><TRNTYPE>OTHER</TRNTYPE><DTPOSTED>{day}</DTPOSTED><TRNAMT>{amount}</TRNAMT>"
        f"<FITID>{n}</FITID><NAME>{name}</NAME></STMTTRN>\n"
        for n, (day, amount, name) in enumerate(transactions, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n'
        "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
        "<DTSERVER>20240201</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>\n"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
        f"<STMTRS><CURDEF>{currency}</CURDEF><BANKACCTFROM><BANKID>121000248</BANKID><ACCTID>555123</ACCTID>"
        "<ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>\n"
        f"<BANKTRANLIST><DTSTART>20240101</DTSTART><DTEND>20240131</DTEND>\n{entries}</BANKTRANLIST>"
        f"<LEDGERBAL><BALAMT>{balance}</BALAMT><DTASOF>20240131</DTASOF></LEDGERBAL>"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ).encode()
