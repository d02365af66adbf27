"""Uploaded files as the documents of a deal: a plain file is one document, a `.zip` one per member.

Zip bombs are refused while the members are inflated, with a running count: declared sizes
are not trusted.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence, Sized
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

from django.conf import settings

from core.errors import Invalid, TooLarge

# A batch (after expanding zips) holds at most this many documents.
MAX_BATCH_DOCUMENTS = 50
# Inflated size of all members of the zips of one batch; declared sizes are not trusted,
# members are read with a running count.
MAX_ZIP_TOTAL_BYTES = 100 * 1024 * 1024
# Entries of all the zips of one batch, skipped ones (directories, hidden files, macOS
# resource forks) included: each costs memory and time before it can be skipped. Four per
# document leaves room for a folder zipped on a Mac (a fork and a directory per file).
MAX_ZIP_ENTRIES = 4 * MAX_BATCH_DOCUMENTS


def max_upload_bytes() -> int:
    """The largest file (or inflated zip member) taken, from MAX_UPLOAD_MB."""
    return int(settings.MAX_UPLOAD_MB) * 1024 * 1024


@dataclass
class Document:
    """One file to process: an upload, or a member of an uploaded zip."""

    filename: str
    content: IO[bytes]
    size: int


def expand_uploads(files: Sequence[Any]) -> list[Document]:
    """The documents of a batch upload: each file, or each member of a `.zip`.

    Zip bombs are refused: at most MAX_BATCH_DOCUMENTS documents, each inflating to at most
    MAX_UPLOAD_MB, all members together to at most MAX_ZIP_TOTAL_BYTES, and at most
    MAX_ZIP_ENTRIES entries in all. Directories, macOS resource forks and hidden files
    inside a zip are skipped, but only after they are counted.
    """
    limit = max_upload_bytes()
    documents: list[Document] = []
    inflated_total = 0
    entries = 0
    for upload in files:
        if not str(upload.name).lower().endswith(".zip"):
            documents.append(plain_document(upload))
            check_count(documents)
            continue
        if upload.size > limit:
            raise _too_large(upload.name)
        try:
            archive = zipfile.ZipFile(upload)
            members = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise Invalid(f"{upload.name} is not a readable zip file.", code="invalid_zip") from exc
        entries += len(members)
        if entries > MAX_ZIP_ENTRIES:
            raise Invalid(
                f"The zip files of a batch hold at most {MAX_ZIP_ENTRIES} entries in all "
                "(folders and hidden files included).",
                code="too_many_files",
                fields={"files": [f"At most {MAX_ZIP_ENTRIES} zip entries."]},
            )
        for member in members:
            name = PurePosixPath(member.filename)
            if member.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            if member.file_size > limit:
                raise _too_large(f"{upload.name}:{member.filename}")
            content, size = _inflate(archive, member, min(limit, MAX_ZIP_TOTAL_BYTES - inflated_total))
            inflated_total += size
            documents.append(Document(clean_name(name.name), content, size))
            check_count(documents)
    if not documents:
        raise Invalid("No document to process.", fields={"files": ["The upload has no files."]})
    return documents


def _inflate(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int) -> tuple[IO[bytes], int]:
    """Copy one member into a temporary file, stopping as soon as it exceeds `budget` bytes."""
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - handed to the caller
    size = 0
    try:
        with archive.open(member) as source:
            while chunk := source.read(64 * 1024):
                size += len(chunk)
                if size > budget:
                    raise TooLarge(
                        f"The zip inflates beyond the limit ({settings.MAX_UPLOAD_MB} MB per document, "
                        f"{MAX_ZIP_TOTAL_BYTES // (1024 * 1024)} MB per batch).",
                    )
                spool.write(chunk)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, NotImplementedError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unsupported compression.
        raise Invalid(f"{member.filename} could not be extracted from the zip.", code="invalid_zip") from exc
    spool.seek(0)
    return spool, size


def plain_document(upload: Any) -> Document:
    """One uploaded file as a document, as it is (413 when larger than MAX_UPLOAD_MB)."""
    if upload.size > max_upload_bytes():
        raise _too_large(upload.name)
    return Document(clean_name(upload.name or ""), upload, upload.size)


def check_count(documents: Sized) -> None:
    """400 `too_many_files` beyond MAX_BATCH_DOCUMENTS documents (or files, before expanding zips)."""
    if len(documents) > MAX_BATCH_DOCUMENTS:
        raise Invalid(
            f"A batch holds at most {MAX_BATCH_DOCUMENTS} documents (zip members included).",
            code="too_many_files",
            fields={"files": [f"At most {MAX_BATCH_DOCUMENTS} documents."]},
        )


def _too_large(name: str) -> TooLarge:
    return TooLarge(f"{name} is larger than {settings.MAX_UPLOAD_MB} MB.")


def clean_name(name: str) -> str:
    """A displayable file name: the last path component, without control characters."""
    # Browsers send a base name, other clients may send a path; NULs cannot be stored in PostgreSQL.
    printable = "".join(ch for ch in str(name) if ch.isprintable())
    base = PurePosixPath(printable.replace("\\", "/")).name.strip() or "statement"
    return base[:255]
