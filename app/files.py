"""What kind of file some bytes are, by their content (never by their name alone).

A leaf: imports nothing of the app. The journey's upload step accepts PDF, CSV and XLSX
files; each is checked here by what it holds, without running or extracting anything:

- PDF: starts with ``%PDF-`` (a few bytes of junk before it are tolerated by readers,
  not here);
- XLSX: a zip archive whose directory lists ``[Content_Types].xml`` and a workbook under
  ``xl/`` (read with :mod:`zipfile`, nothing decompressed but the directory);
- CSV: text that decodes as UTF-8 (a byte-order mark allowed), without NUL bytes.

No third-party library is needed for three kinds this simple: ``filetype`` and
``python-magic`` guess from leading bytes only, so an XLSX and any other zip (or a DOCX)
look the same to them, and CSV has no signature at all.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from typing import Literal

Kind = Literal["pdf", "csv", "xlsx"]

EXTENSIONS: dict[str, Kind] = {".pdf": "pdf", ".csv": "csv", ".xlsx": "xlsx"}
CONTENT_TYPES: dict[Kind, str] = {
    "pdf": "application/pdf",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAX_FILENAME_LENGTH = 255


def kind_by_name(filename: str) -> Kind | None:
    """The kind a file's extension claims (``.PDF`` as ``.pdf``), or None."""
    dot = filename.rfind(".")
    return EXTENSIONS.get(filename[dot:].lower()) if dot > 0 else None


def unsafe_filename(filename: str) -> bool:
    """Whether a filename carries path parts (``/``, ``\\``, ``..``), control characters
    (NUL among them) or is too long to keep."""
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        return True
    if "/" in filename or "\\" in filename or ".." in filename:
        return True
    return has_control_characters(filename)


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds control or invisible formatting characters (NUL, a newline,
    a right-to-left override): what no name or one-line answer needs."""
    return any(unicodedata.category(char) in ("Cc", "Cf") for char in text)


def holds(kind: Kind, data: bytes) -> bool:
    """Whether ``data`` is really a file of ``kind``."""
    if kind == "pdf":
        return data.startswith(b"%PDF-")
    if kind == "xlsx":
        return _is_xlsx(data)
    return _is_csv(data)


def _is_xlsx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _is_csv(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True
