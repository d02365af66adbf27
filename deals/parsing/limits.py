"""The budgets an untrusted statement file is read within, and the plain-words reasons for exceeding them.

Defaults here match config/settings.py, so the pure parsing functions are bounded even when called
without Django (tests, the benchmark, a shell).
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Hard limits for reading one statement file; see the README's settings table."""

    max_pdf_pages: int = 300
    # Bytes a PDF may decompress to, in total and in any one stream (content, font, object stream).
    max_inflated_bytes: int = 100 * MB
    max_stream_inflated_bytes: int = 25 * MB
    # The child process that reads the file: address space and wall-clock time (CPU time too).
    memory_bytes: int = 1024 * MB
    time_seconds: float = 120.0

    def too_many_pages(self) -> str:
        return f"The PDF has more than {self.max_pdf_pages} pages"

    def too_inflated(self) -> str:
        return f"The PDF expands to more than {self.max_inflated_bytes // MB} MB when decompressed"

    def stream_too_inflated(self) -> str:
        return f"A part of the PDF expands to more than {self.max_stream_inflated_bytes // MB} MB when decompressed"

    def too_slow(self) -> str:
        return f"Reading the file took longer than {self.time_seconds:g} s"

    def too_big_in_memory(self) -> str:
        return f"Reading the file needs more than {self.memory_bytes // MB} MB of memory"


DEFAULT_LIMITS = ParseLimits()
