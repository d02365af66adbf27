"""Bounded stream decoding for pdfminer: a PDF may decompress only so much, per stream and in total.

pdfminer inflates a stream in one call (`zlib.decompress`), so half a megabyte of compressed
zeros becomes half a gigabyte before anything can look at its size. The decoders here stop at the
budget instead. They are installed into pdfminer once (`install`) and read the budget of the
document being read from a context variable, so threads reading different files keep their own.
"""

from __future__ import annotations

import contextlib
import io
import types
import zlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import NoReturn

from pdfminer import pdftypes
from pdfminer.lzw import LZWDecoder

from deals.parsing.limits import DEFAULT_LIMITS, ParseLimits
from deals.parsing.statement import StatementError

# Chunk size for the lenient inflate of damaged streams: large enough to be fast, and only the
# chunk holding the damage is replayed byte by byte.
_CHUNK = 64 * 1024


class InflateLimitExceeded(StatementError):
    """The PDF decompresses to more than its budget allows."""


class InflateBudget:
    """What one document has decompressed so far, against its limits."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.used = 0
        # Set once a limit is hit: pdfminer and pdfplumber wrap exceptions in their own types,
        # so the reader asks the budget afterwards rather than trusting the exception to arrive.
        self.exceeded: str | None = None

    def allowance(self) -> int:
        """Bytes the next stream may decode to."""
        if self.exceeded:
            raise InflateLimitExceeded(self.exceeded)
        return min(self.limits.max_stream_inflated_bytes, self.limits.max_inflated_bytes - self.used)

    def refuse(self) -> NoReturn:
        """Record that the allowance was overrun and stop the reading."""
        stream_bound = self.limits.max_stream_inflated_bytes <= self.limits.max_inflated_bytes - self.used
        self.exceeded = self.limits.stream_too_inflated() if stream_bound else self.limits.too_inflated()
        raise InflateLimitExceeded(self.exceeded)

    def charge(self, size: int) -> None:
        """Count a decoded stream against the document's total."""
        if size > self.allowance():
            self.refuse()
        self.used += size


_current: ContextVar[InflateBudget | None] = ContextVar("pdf_inflate_budget", default=None)


@contextlib.contextmanager
def inflate_budget(limits: ParseLimits) -> Iterator[InflateBudget]:
    """Bound every stream pdfminer decodes inside the block by `limits`."""
    budget = InflateBudget(limits)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def _active() -> InflateBudget:
    # Outside inflate_budget (some other use of pdfminer) each stream still gets the default bound.
    return _current.get() or InflateBudget(DEFAULT_LIMITS)


def inflate(data: bytes) -> bytes:
    """zlib.decompress that stops at the allowance; raises zlib.error on damage, as zlib does."""
    budget = _active()
    limit = budget.allowance()
    decompressor = zlib.decompressobj()
    out = decompressor.decompress(data, limit + 1)
    if len(out) > limit:
        budget.refuse()
    if not decompressor.eof:
        raise zlib.error("incomplete or truncated stream")
    return out


def inflate_leniently(data: bytes) -> bytes:
    """What a damaged stream holds up to the damage (pdfminer's fallback), linear and bounded."""
    budget = _active()
    limit = budget.allowance()
    decompressor = zlib.decompressobj()
    parts: list[bytes] = []
    size = 0
    for start in range(0, len(data), _CHUNK):
        chunk = data[start : start + _CHUNK]
        before = decompressor.copy()
        try:
            parts.append(decompressor.decompress(chunk, limit + 1 - size))
            size += len(parts[-1])
        except zlib.error:
            # Replay this chunk byte by byte from the state before it, keeping what precedes the damage.
            decompressor = before
            for i in range(len(chunk)):
                try:
                    parts.append(decompressor.decompress(chunk[i : i + 1], limit + 1 - size))
                except zlib.error:
                    break
                size += len(parts[-1])
                if size > limit:
                    budget.refuse()
            break
        if size > limit:
            budget.refuse()
        if decompressor.eof:
            break
    return b"".join(parts)


def lzw_decode(data: bytes) -> bytes:
    """pdfminer's LZW decoding, stopped at the allowance (LZW expands up to ~3000:1)."""
    budget = _active()
    limit = budget.allowance()
    parts: list[bytes] = []
    size = 0
    for piece in LZWDecoder(io.BytesIO(data)).run():
        size += len(piece)
        if size > limit:
            budget.refuse()
        parts.append(piece)
    return b"".join(parts)


def _counting(decode: Callable[[pdftypes.PDFStream], None]) -> Callable[[pdftypes.PDFStream], None]:
    def bounded_decode(stream: pdftypes.PDFStream) -> None:
        budget = _active()
        budget.allowance()  # a document over budget decodes nothing more
        decode(stream)
        # Filters without a streaming decoder (run-length, CCITT) are counted once decoded.
        budget.charge(len(stream.data or b""))

    bounded_decode.__wrapped__ = decode  # type: ignore[attr-defined]
    return bounded_decode


def install() -> None:
    """Replace pdfminer's unbounded decoders with the ones above (idempotent)."""
    if hasattr(pdftypes.PDFStream.decode, "__wrapped__"):
        return
    # pdftypes uses zlib only for decompress, decompressobj (in its fallback) and error.
    zlib_shim = types.SimpleNamespace(decompress=inflate, decompressobj=zlib.decompressobj, error=zlib.error)
    setattr(pdftypes, "zlib", zlib_shim)  # noqa: B010
    setattr(pdftypes, "decompress_corrupted", inflate_leniently)  # noqa: B010
    setattr(pdftypes, "lzwdecode", lzw_decode)  # noqa: B010
    setattr(pdftypes.PDFStream, "decode", _counting(pdftypes.PDFStream.decode))  # noqa: B010
