import codecs
import random

import pytest

from core.errors import IngestError
from core.knowledge.extract import clean_filename, decode_text, detect_kind, extract_pages, pdf_pages
from tests.data.pdfs import corrupt_pdf, encrypted_pdf, scanned_pdf, text_pdf

LIMIT = 5 * 1024 * 1024


def refusal(name: str, data: bytes) -> str:
    with pytest.raises(IngestError) as error:
        detect_kind(name, data, LIMIT)
    return str(error.value)


@pytest.mark.parametrize("raw, clean", [
    ("../../x.txt", "x.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/etc/passwd.txt", "passwd.txt"),
    ("report.pdf", "report.pdf"),
    ("a\x00b\nc.txt", "abc.txt"),
    ("..", "document"),
    ("", "document"),
    ("dir/", "document"),
])
def test_file_names_lose_their_path_parts(raw, clean):
    assert clean_filename(raw) == clean


def test_long_names_keep_their_extension():
    name = clean_filename("a" * 500 + ".pdf")
    assert len(name) <= 200 and name.endswith(".pdf")


@pytest.mark.parametrize("name, data, kind", [
    ("a.pdf", text_pdf(["hello"]), "pdf"),
    ("a.PDF", text_pdf(["hello"]), "pdf"),
    ("a.txt", b"hello", "text"),
    ("a.md", b"# hello", "markdown"),
    ("a.markdown", b"# hello", "markdown"),
])
def test_kind_by_extension_and_content(name, data, kind):
    assert detect_kind(name, data, LIMIT) == kind


@pytest.mark.parametrize("name", ["report.docx", "setup.exe", "data.csv.zip", "noextension"])
def test_unsupported_types_are_refused(name):
    message = refusal(name, b"PK\x03\x04 whatever")
    assert "cannot read" in message and "upload a PDF, .txt or .md file" in message


@pytest.mark.parametrize("name, data", [("e.txt", b""), ("e.md", b"  \n\t \n"), ("e.pdf", b"")])
def test_empty_files_are_refused(name, data):
    assert "is empty" in refusal(name, data)


def test_files_over_the_size_limit_are_refused():
    message = refusal("big.txt", b"a" * (LIMIT + 1))
    assert message == '"big.txt" is 5 MB, over the 5 MB upload limit; split it into smaller files.'


def test_binary_noise_is_refused():
    noise = random.Random(7).randbytes(4096)
    assert "contains binary data, not readable text" in refusal("noise.txt", b"abc" + noise)
    assert "not a PDF" in refusal("noise.pdf", b"\x01\x02" + noise)


@pytest.mark.parametrize("name, data, phrase", [
    ("paper.txt", text_pdf(["hi"]), "is a PDF but its name ends in .txt"),
    ("notes.pdf", b"Plain notes, not a PDF at all.\n", "is named .pdf but contains plain text"),
    ("letter.md", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64, "is really a ZIP archive"),
    ("photo.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "is really a PNG image"),
    ("photo.pdf", b"\xff\xd8\xff\xe0" + b"\x00" * 64, "is not a PDF even though its name ends in .pdf"),
])
def test_content_must_match_the_extension(name, data, phrase):
    assert phrase in refusal(name, data)


@pytest.mark.parametrize("data", [
    "Grüße, café ☕".encode("utf-8"),
    codecs.BOM_UTF8 + "Grüße, café ☕".encode("utf-8"),
    codecs.BOM_UTF16_LE + "Grüße, café ☕".encode("utf-16-le"),
    codecs.BOM_UTF16_BE + "Grüße, café ☕".encode("utf-16-be"),
])
def test_text_encodings(data):
    assert detect_kind("t.txt", data, LIMIT) == "text"
    assert decode_text("t.txt", data) == "Grüße, café ☕"


def test_legacy_windows_text_is_read():
    assert decode_text("old.txt", "naïve café\r\nline two".encode("cp1252")) == "naïve café\nline two"


def test_utf16_that_does_not_decode_is_refused():
    with pytest.raises(IngestError, match="not valid text"):
        decode_text("u.txt", codecs.BOM_UTF16_LE + b"\x00\xd8")  # a lone surrogate


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_pdf_text_per_page_with_numbers(tmp_path):
    path = write(tmp_path, "a.pdf", text_pdf(["First page words.", "Second page words."]))
    pages = pdf_pages(path, "a.pdf")
    assert [(p.number, p.text.strip()) for p in pages] == [(1, "First page words."), (2, "Second page words.")]


@pytest.mark.parametrize("data, phrase", [
    (corrupt_pdf(), "is damaged and cannot be opened as a PDF"),
    (scanned_pdf(), "has no text layer (it looks like a scan"),
    (encrypted_pdf(), "is password-protected; remove the password"),
])
def test_bad_pdfs_get_one_plain_sentence(tmp_path, data, phrase):
    path = write(tmp_path, "bad.pdf", data)
    with pytest.raises(IngestError) as error:
        extract_pages(path, "pdf", "bad.pdf")
    assert phrase in str(error.value) and str(error.value).startswith('"bad.pdf"')
    assert str(error.value).count(".") <= 3 and "\n" not in str(error.value)


def test_pdf_parsing_is_killed_after_its_time_limit(tmp_path):
    path = write(tmp_path, "slow.pdf", text_pdf(["x"]))
    with pytest.raises(IngestError, match="took too long to read"):
        pdf_pages(path, "slow.pdf", timeout=0.001)


def test_pdf_parsing_runs_under_a_memory_limit(tmp_path):
    path = write(tmp_path, "huge.pdf", text_pdf(["x"]))
    with pytest.raises(IngestError, match="needs too much memory"):
        pdf_pages(path, "huge.pdf", memory_bytes=1 << 20)
