"""What a document is, read from its own structure: its title, its header fields and what
its file name says, so that a chunk can carry its document's identity into the search.

Nothing here knows a domain. The title is the `Title:` field of a header block of
`Key: value` lines at the top (RFC 822 style, or a Markdown list of `**Key:** value`), else
the first Markdown heading, else the first short line (with a short second line such as
"Version 3, 29 June 2007"). The profile keeps the header block's short values (status,
version, dates, what it replaces) for the document-level ranking signals.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

FORMAT = 4  # chunk format: 2 = contextual headers (title and section heading) embedded with each chunk;
# 3 = long underlined (reStructuredText) headings recognised, so chunks no longer run across them;
# 4 = a heading with no text of its own opens the next section's chunk (no title-only chunks)
_FIELD = re.compile(r"^\s*(?:[-*]\s+)?(?:\*\*)?([A-Z][A-Za-z-]{1,30}):(?:\*\*)?\s+(.+?)\s*$")
_MD_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_URL = re.compile(r"https?://|<[^>]+@[^>]+>|`")
TITLE_WORDS = 14
MAX_VALUE = 80


@dataclass(frozen=True)
class Profile:
    title: str
    fields: dict

    def as_params(self) -> dict:
        return {"format": FORMAT, "title": self.title, "fields": self.fields}


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def header_fields(text: str) -> dict[str, str]:
    """The `Key: value` block that opens a document (at least two lines), short values only."""
    fields: dict[str, str] = {}
    for line in _lines(text)[:60]:
        if not line.strip():
            if fields:
                break
            continue
        match = _FIELD.match(line)
        if not match:
            if len(fields) >= 2:
                break
            if line.lstrip().startswith("#") and not fields:
                continue  # a Markdown title above the field list
            fields = {}
            break
        key, value = match.group(1), match.group(2).strip()
        if len(value) <= MAX_VALUE and not _URL.search(value):
            fields[key] = value
        else:
            fields.setdefault(key, "")
    return {k: v for k, v in fields.items() if v} if len(fields) >= 2 else {}


def _first_lines(text: str) -> str:
    lines = [line.strip() for line in _lines(text) if line.strip()]
    if not lines or len(lines[0].split()) > TITLE_WORDS:
        return ""
    title = lines[0]
    if len(lines) > 1 and len(lines[1].split()) <= 8 and not lines[1].endswith((".", ",", ":")):
        title += " " + lines[1]
    return " ".join(title.split())


def document_profile(first_page: str, filename: str) -> Profile:
    fields = header_fields(first_page)
    title = fields.get("Title", "")
    if not title:
        heading = next((m.group(1) for m in map(_MD_HEADING.match, _lines(first_page)[:40]) if m), "")
        title = heading or _first_lines(first_page)
    stem = PurePath(filename).stem
    if stem.lower() not in title.lower():
        title = f"{title} ({stem})" if title else stem
    return Profile(" ".join(title.split()), fields)


def context_header(title: str, heading: str) -> str:
    """The line embedded and indexed before a chunk's text (not shown, not quoted)."""
    return " — ".join(dict.fromkeys(part for part in (title, heading) if part))


def embedding_texts(chunks, title: str) -> list[str]:
    """What is embedded for each chunk: its contextual header, then its text."""
    return [f"{context_header(title, chunk.heading)}\n{chunk.text}" for chunk in chunks]
