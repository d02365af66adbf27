"""Bank statement files (CSV, OFX/QFX, PDF) to transactions: pure functions over bytes, no Django.

`extract_document` is the pipeline's "extracting_text" stage and `parse_document` its "parsing"
stage; both raise only `StatementError`, whose `reason` is shown to the user.
"""

from __future__ import annotations

import logging

from deals.parsing.delimited import parse_csv
from deals.parsing.extract import extract_document as _extract_document
from deals.parsing.limits import DEFAULT_LIMITS, ParseLimits
from deals.parsing.ofx import parse_ofx
from deals.parsing.pdf import parse_pdf
from deals.parsing.statement import ExtractedDocument, ParsedStatement, StatementError, Transaction

__all__ = [
    "ExtractedDocument",
    "ParsedStatement",
    "StatementError",
    "Transaction",
    "extract_document",
    "parse_csv",
    "parse_document",
    "parse_ofx",
    "parse_pdf",
]

logger = logging.getLogger(__name__)

_PARSERS = {"csv": parse_csv, "ofx": parse_ofx, "pdf": parse_pdf}


def extract_document(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> ExtractedDocument:
    """Recognise the file by its content and decode it to text; raises StatementError."""
    try:
        return _extract_document(data, limits)
    except StatementError:
        raise
    except Exception as exc:
        # The contract is "StatementError or a result": a bug here must fail one statement with
        # a reason, not the worker. It is logged with its traceback so it still gets fixed.
        logger.exception("unexpected error while extracting a statement")
        raise StatementError("The file could not be read") from exc


def parse_document(doc: ExtractedDocument) -> ParsedStatement:
    """Parse an extracted document into transactions; raises StatementError."""
    parser = _PARSERS.get(doc.format)
    if parser is None:
        raise StatementError("Unsupported file format")
    try:
        return parser(doc.text)
    except StatementError:
        raise
    except Exception as exc:
        logger.exception("unexpected error while parsing a %s statement", doc.format)
        raise StatementError(f"The {doc.format.upper()} file could not be parsed") from exc
