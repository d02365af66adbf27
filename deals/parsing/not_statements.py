"""Files people upload by mistake in place of a bank statement (photos, office documents,
archives, programs), recognised by their first bytes so an upload can be refused in words.

Pure: bytes in, words out. `deals.parsing.extract` refuses the same signatures when a stored
file reaches the pipeline; `deals.services.add_statements` refuses them before anything is stored.
"""

from __future__ import annotations

import zipfile
from typing import IO

# Leading bytes → what the file is, in words that fit "photo.png is …".
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive"),  # also docx, xlsx, odt: looked into by `describe`
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"II*\x00", "a TIFF picture"),
    (b"MM\x00*", "a TIFF picture"),
    (b"MZ\x90\x00", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "a Word or Excel document in the old binary format"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"RIFF", "a WebP picture or a sound or video file"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"{\\rtf", "a Word document (RTF)"),
)
# ISO media files (bytes 4–8 "ftyp"), by their brand: phone photos and videos.
_PICTURE_BRANDS = {
    b"heic": "an HEIC picture",
    b"heix": "an HEIC picture",
    b"hevc": "an HEIC picture",
    b"heim": "an HEIC picture",
    b"heis": "an HEIC picture",
    b"mif1": "an HEIC picture",
    b"msf1": "an HEIC picture",
    b"avif": "an AVIF picture",
}
# Office formats are zip archives; their first member folder says which.
_ZIPPED_DOCUMENTS = (
    ("word/", "a Word document"),
    ("xl/", "an Excel workbook"),
    ("ppt/", "a PowerPoint presentation"),
)
_OPEN_DOCUMENTS = {
    b"application/vnd.oasis.opendocument.text": "an OpenDocument text",
    b"application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet",
}
HEAD_BYTES = 64


def describe(content: IO[bytes]) -> str | None:
    """What a file that cannot be a statement is ("a PNG picture"), or None when it may be one.

    Reads from the file's current position and puts it back where it was.
    """
    start = content.tell()
    try:
        head = content.read(HEAD_BYTES)
        if head[4:8] == b"ftyp":
            return _PICTURE_BRANDS.get(head[8:12], "a video")
        kind = next((words for signature, words in SIGNATURES if head.startswith(signature)), None)
        if kind == "a zip archive":
            return _zipped_kind(content, start) or kind
        return kind
    finally:
        content.seek(start)


def _zipped_kind(content: IO[bytes], start: int) -> str | None:
    content.seek(start)
    try:
        archive = zipfile.ZipFile(content)
        names = archive.namelist()
        # An OpenDocument file says what it is in its small "mimetype" member.
        member = archive.getinfo("mimetype") if "mimetype" in names else None
        mimetype = archive.read(member).strip() if member and member.file_size <= 200 else b""
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError, EOFError):
        return None
    if mimetype in _OPEN_DOCUMENTS:
        return _OPEN_DOCUMENTS[mimetype]
    for folder, words in _ZIPPED_DOCUMENTS:
        if any(name.startswith(folder) for name in names):
            return words
    return None


EXPORT_INSTEAD = (
    "Export the statement from the bank's online banking as CSV or OFX/QFX, or download the bank's "
    "PDF statement, and upload that file."
)


def advice(kind: str) -> str:
    """What to upload instead of a file `describe` recognised."""
    if "Excel" in kind or "spreadsheet" in kind:
        return f"Save the sheet as CSV (File › Save As › CSV) and upload that. {EXPORT_INSTEAD}"
    if "zip" in kind:
        return f"Upload the statements inside it, or the zip as a batch of several files. {EXPORT_INSTEAD}"
    return EXPORT_INSTEAD
