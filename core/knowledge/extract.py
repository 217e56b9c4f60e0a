"""From uploaded bytes to page texts: decide the type (extension AND content), refuse bad input
with one plain sentence, decode text, and read PDFs in a separate, time- and memory-limited process.
"""
from __future__ import annotations

import codecs
import json
import os
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.errors import IngestError

KINDS = {".pdf": "pdf", ".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown"}
EXTENSIONS = {"pdf": "pdf", "text": "txt", "markdown": "md"}
PDF_TIMEOUT_S = 120.0
PDF_MEMORY_BYTES = 1 << 30
_CHILD = Path(__file__).resolve().with_name("pdf_child.py")
_MAGIC = {
    b"%PDF-": "PDF",
    b"PK\x03\x04": "ZIP archive (for example a Word or Excel document)",
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"MZ": "Windows program",
    b"\x7fELF": "program",
    b"\xd0\xcf\x11\xe0": "Microsoft Office document",
    b"{\\rtf": "rich-text (RTF) document",
}
_CONTROL = set(range(32)) - {9, 10, 12, 13, 27}


@dataclass(frozen=True)
class Page:
    number: int | None  # 1-based PDF page; None for text
    text: str


def clean_filename(name: str) -> str:
    """The last path part of an uploaded name, without control characters; never used as a path."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if base in ("", ".", ".."):
        return "document"
    stem, ext = os.path.splitext(base)
    ext = ext[:10]
    return stem[: 200 - len(ext)] + ext


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def _magic_label(data: bytes) -> str | None:
    return next((label for magic, label in _MAGIC.items() if data.startswith(magic)), None)


def looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if not sample or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in sample:
        return True
    return sum(byte in _CONTROL for byte in sample) / len(sample) > 0.02


def detect_kind(filename: str, data: bytes, max_bytes: int) -> str:
    """'pdf', 'text' or 'markdown' by extension and content, else IngestError with the reason."""
    suffix = Path(filename).suffix.lower()
    if suffix not in KINDS:
        what = f"a {suffix} file" if suffix else "a file without an extension"
        raise IngestError(f'"{filename}" is {what}, which the knowledge base cannot read; upload a PDF, .txt or .md file.')
    if len(data) > max_bytes:
        raise IngestError(
            f'"{filename}" is {_megabytes(len(data))} MB, over the {_megabytes(max_bytes)} MB upload limit; split it into smaller files.'
        )
    if not data or data.isspace():
        raise IngestError(f'"{filename}" is empty; choose a file that contains some text.')
    kind = KINDS[suffix]
    label = _magic_label(data)
    if kind == "pdf":
        if label == "PDF":
            return kind
        if label is None and not looks_binary(data):
            raise IngestError(f'"{filename}" is named .pdf but contains plain text; rename it to .txt and upload it again.')
        raise IngestError(
            f'"{filename}" is not a PDF even though its name ends in .pdf; export the document as PDF again and upload the new file.'
        )
    if label == "PDF":
        raise IngestError(f'"{filename}" is a PDF but its name ends in {suffix}; rename it to .pdf and upload it again.')
    if label is not None:
        raise IngestError(f'"{filename}" is really a {label}, not text; upload a PDF, .txt or .md file instead.')
    if looks_binary(data):
        raise IngestError(f'"{filename}" contains binary data, not readable text; upload a PDF, .txt or .md file instead.')
    return kind


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.replace("\x00", "").replace("\ufeff", "")


def decode_text(filename: str, data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 text; binary is refused."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return normalise(data.decode("utf-8-sig"))
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return normalise(data.decode("utf-16"))
    except UnicodeDecodeError:
        raise IngestError(f'"{filename}" is not valid text in the encoding it announces; save it as UTF-8 and upload it again.') from None
    if looks_binary(data):
        raise IngestError(f'"{filename}" contains binary data, not readable text; upload a PDF, .txt or .md file instead.')
    try:
        return normalise(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        return normalise(data.decode("cp1252"))
    except UnicodeDecodeError:
        raise IngestError(f'"{filename}" is not readable text; save it as UTF-8 and upload it again.') from None


def _pdf_failure(filename: str, code: str) -> IngestError:
    reasons = {
        "password": f'"{filename}" is password-protected; remove the password and upload it again.',
        "memory": f'"{filename}" needs too much memory to read; split it into smaller files and upload those.',
        "corrupt": f'"{filename}" is damaged and cannot be opened as a PDF; export it again and upload the new file.',
    }
    return IngestError(reasons.get(code, reasons["corrupt"]))


def run_pdf_child(path: Path, filename: str, timeout: float, memory_bytes: int) -> list[str]:
    """Page texts from the isolated child; the child is killed when it runs over `timeout`."""
    try:
        done = subprocess.run(
            [sys.executable, str(_CHILD), str(path), str(memory_bytes)],
            capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise IngestError(
            f'"{filename}" took too long to read (over {timeout:g} seconds); split it into smaller files and upload those.'
        ) from None
    if done.returncode != 0:
        raise _pdf_failure(filename, "memory" if b"MemoryError" in done.stderr or done.returncode < 0 else "corrupt")
    result = json.loads(done.stdout)
    if "error" in result:
        raise _pdf_failure(filename, result["error"])
    return result["pages"]


def pdf_pages(path: Path, filename: str, timeout: float = PDF_TIMEOUT_S, memory_bytes: int = PDF_MEMORY_BYTES) -> list[Page]:
    texts = run_pdf_child(path, filename, timeout, memory_bytes)
    if not texts:
        raise IngestError(f'"{filename}" has no pages; check the file and upload it again.')
    pages = [Page(number, normalise(text.replace("\x02", "").replace("\xad\n", ""))) for number, text in enumerate(texts, 1)]
    if not any(page.text.strip() for page in pages):
        raise IngestError(
            f'"{filename}" has no text layer (it looks like a scan or images only); run OCR on it or upload a text version.'
        )
    return pages


def extract_pages(path: Path, kind: str, filename: str) -> list[Page]:
    """The text of a stored file, page by page (a text file is one page without a number)."""
    if kind == "pdf":
        return pdf_pages(path, filename)
    text = decode_text(filename, path.read_bytes())
    if not text.strip():
        raise IngestError(f'"{filename}" is empty; choose a file that contains some text.')
    return [Page(None, text)]
