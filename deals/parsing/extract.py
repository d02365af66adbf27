"""Stage "extracting_text": recognise a statement file by its content and turn it into text.

The file name is never consulted: uploads are named by users, and an .exe renamed .csv is common.
"""

from __future__ import annotations

import io
import itertools
import logging
import re

import pdfplumber
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser

from deals.parsing import pdf_streams
from deals.parsing.limits import DEFAULT_LIMITS, ParseLimits
from deals.parsing.not_statements import SIGNATURES
from deals.parsing.statement import ExtractedDocument, StatementError

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 25 * 1024 * 1024
UNSUPPORTED = "Unsupported file format"

# Binary formats people upload by mistake (deals.parsing.not_statements); recognising them early
# gives the plain reason instead of a decoding attempt on garbage.
_BINARY_SIGNATURES = tuple(signature for signature, _ in SIGNATURES)
_OFX_MARKER = re.compile(r"OFXHEADER|<OFX>|<\?OFX", re.I)
_MARKUP_START = re.compile(r"\s*<")
_SEPARATORS = (",", ";", "\t", "|")
# The single-byte code pages of Excel exports, Western European first: Central European (Polish,
# Czech, Hungarian) banks export in cp1250, which shares most of its letters with cp1252.
_WINDOWS_CODEPAGES = ("cp1252", "cp1250")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")

pdf_streams.install()


def extract_document(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> ExtractedDocument:
    """Detect the file type by content and decode it; raises StatementError for anything else."""
    if not data.strip():
        raise StatementError("The file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise StatementError(f"The file is too large (the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB)")
    # The PDF spec lets the header start anywhere in the first 1024 bytes.
    if b"%PDF-" in data[:1024]:
        return _extract_pdf(data, limits)
    head = data[:16].lstrip(b"\xef\xbb\xbf")
    if any(head.startswith(signature) for signature in _BINARY_SIGNATURES):
        raise StatementError(UNSUPPORTED)
    text, encoding = decode_text(data)
    if not _is_text(text):
        raise StatementError(UNSUPPORTED)
    # Markers are looked for in the decoded text, so a UTF-16 file is recognised like any other.
    if _OFX_MARKER.search(text[:4096]):
        return ExtractedDocument(format="ofx", text=text, encoding=encoding)
    if _MARKUP_START.match(text[:64].lstrip("\ufeff")):
        # HTML, XML other than OFX, SVG...: not a statement layout we read.
        raise StatementError(UNSUPPORTED)
    if not _has_separated_lines(text):
        raise StatementError(UNSUPPORTED)
    return ExtractedDocument(format="csv", text=text, encoding=encoding)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode as UTF-16 when the bytes say so, else UTF-8 (with or without BOM), else cp1252 or
    cp1250, else Latin-1 (which never fails)."""
    utf16 = _utf16_codec(data)
    if utf16 is not None:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass  # an odd byte count or a lone surrogate: not UTF-16 after all
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    decoded = []
    for encoding in _WINDOWS_CODEPAGES:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        decoded.append((_symbols_inside_words(text), text, encoding))
    if decoded:
        # Fewest symbols inside words wins; on a tie the first (Western European) code page.
        _, text, encoding = min(decoded, key=lambda candidate: candidate[0])
        return text, encoding
    return data.decode("latin-1"), "latin-1"


def _symbols_inside_words(text: str) -> int:
    """How many non-ASCII characters that are not letters sit between two letters: a Polish export
    (cp1250) read as cp1252 turns ą, ł and ż into ¹, ³ and ¿ ("Saldo pocz¹tkowe"), which a text
    in its own code page hardly ever has."""
    sample = text[:65536]
    return sum(
        1
        for match in _NON_ASCII.finditer(sample)
        if not match.group().isalpha()
        and 0 < match.start() < len(sample) - 1
        and sample[match.start() - 1].isalpha()
        and sample[match.start() + 1].isalpha()
    )


def _utf16_codec(data: bytes) -> str | None:
    """Excel's "Unicode text" is UTF-16 with a byte-order mark; some exporters drop the mark, and
    then ASCII text shows as every other byte being NUL."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:4096]
    half = len(sample) // 2
    if half < 4:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls >= 0.7 * half and even_nuls <= 0.05 * half:
        return "utf-16-le"
    if even_nuls >= 0.7 * half and odd_nuls <= 0.05 * half:
        return "utf-16-be"
    return None


def _is_text(text: str) -> bool:
    sample = text[:65536]
    if "\x00" in sample:
        return False
    control = sum(1 for c in sample if c < " " and c not in "\t\r\n\f")
    return control <= len(sample) // 100


def _has_separated_lines(text: str) -> bool:
    lines = [line for line in text[:65536].splitlines() if line.strip()][:50]
    return any(sep in line for line in lines for sep in _SEPARATORS)


def _extract_pdf(data: bytes, limits: ParseLimits) -> ExtractedDocument:
    with pdf_streams.inflate_budget(limits) as budget:
        try:
            page_count = count_pdf_pages(data, limits.max_pdf_pages)
            if page_count > limits.max_pdf_pages:
                raise StatementError(limits.too_many_pages())
            with pdfplumber.open(io.BytesIO(data)) as pdf:
                pages = [page.extract_text() or "" for page in pdf.pages]
        except StatementError:
            raise
        except Exception as exc:
            if budget.exceeded:
                # pdfplumber wraps what the bounded decoders raise in its own exception type.
                raise StatementError(budget.exceeded) from exc
            # pdfminer reports encryption and damage with many exception types, often wrapped.
            cause = exc.args[0] if exc.args else exc
            if any(isinstance(error, PDFPasswordIncorrect | PDFEncryptionError) for error in (cause, exc)):
                raise StatementError("The PDF is password-protected") from exc
            logger.info("unreadable PDF: %r", exc)
            raise StatementError("The PDF file is damaged or could not be read") from exc
    if page_count == 0:
        raise StatementError("The PDF has no pages")
    if not any(page.strip() for page in pages):
        raise StatementError("PDF has no text layer")
    return ExtractedDocument(format="pdf", text="\n".join(pages), page_count=page_count)


def count_pdf_pages(data: bytes, stop_after: int) -> int:
    """Pages in the PDF's page tree, counting no further than `stop_after` + 1.

    Only the page tree is walked (no content is read), so a 20,000-page file is refused after
    a few hundred dictionaries instead of after laying out every page.
    """
    document = PDFDocument(PDFParser(io.BytesIO(data)))
    return sum(1 for _ in itertools.islice(PDFPage.create_pages(document), stop_after + 1))
