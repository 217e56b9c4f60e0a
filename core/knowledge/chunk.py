"""Token-sized chunks that follow pages, Markdown headings, paragraphs and sentences.

A chunk never crosses a page or a heading; inside a section, consecutive chunks share about
`overlap` tokens. A heading with no text of its own ("Rejected Ideas" straight above "Why not
...?") opens the next section's first chunk, on the next page when it ends one, rather than
standing alone as a chunk that holds nothing but its title. Token counts use the embedder's own
tokenizer (core.tokens).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.knowledge.extract import Page
from core.tokens import count_many, encode

TARGET_TOKENS = 200
OVERLAP_TOKENS = 30
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'“(\[]?[A-Z0-9])")
_BLANK_LINES = re.compile(r"\n\s*\n")
_UNDERLINE = re.compile(r"^\s*([=\-~^*+#])\1{2,}\s*$")
_NUMBERED = re.compile(r"^\s{0,12}((?:\d{1,3}\.)*\d{1,3}\.?|[A-Z]\.|[IVX]{1,5}\.)\s+\S.*$")
_NUMBERED_PARAGRAPH = re.compile(r"^\s{0,4}\d{1,3}\.\s+[A-Z\"“]")
_LINK_TARGET = re.compile(r"^\s*\.\. _[^:]*:\s*$")  # reStructuredText's ".. _name:" labels a heading
HEADING_WORDS = 10
UNDERLINED_WORDS = 20  # a line underlined with ===/--- is a heading even when it is a long question
SECTION_WORDS = 40


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    page: int | None
    heading: str


@dataclass
class _Unit:
    text: str
    tokens: int
    sep: str  # joins this unit to the one before it


def chunk_params(target: int = TARGET_TOKENS, overlap: int = OVERLAP_TOKENS) -> dict:
    return {
        "tokenizer": "all-MiniLM-L6-v2 WordPiece",
        "target_tokens": target,
        "overlap_tokens": overlap,
        "boundaries": "page > heading > paragraph > sentence",
    }


def _short(line: str, limit: int = HEADING_WORDS) -> bool:
    words = line.split()
    return 0 < len(words) <= limit and not line.rstrip().endswith((",", ";", ":")) and words[0][:1].isalnum()


def _text_heading(lines: list[str], i: int) -> tuple[str, int] | None:
    """(heading, lines it takes) when line i of a plain-text or PDF page is a heading: a line
    underlined with ===/--- (reStructuredText, and its PDF renderings), or a short numbered or
    upper-case line standing alone between blank lines ("3. Conveying Verbatim Copies.")."""
    line = lines[i].strip()
    if not line or _UNDERLINE.match(line):
        return None
    following = lines[i + 1] if i + 1 < len(lines) else ""
    if _UNDERLINE.match(following) and _short(line, UNDERLINED_WORDS) and len(following.strip()) >= 0.6 * len(line):
        return line, 2
    starts = i == 0 or not lines[i - 1].strip()
    alone = starts and not following.strip()
    if alone and _short(line) and (_NUMBERED.match(lines[i]) or (line.isupper() and len(line) > 3)):
        return line.rstrip("."), 1
    numbered = _NUMBERED_PARAGRAPH.match(lines[i])
    if starts and numbered:  # a long numbered paragraph opens a section: "3. You may copy and distribute ..."
        paragraph = []
        for later in lines[i:]:
            if not later.strip():
                break
            paragraph.append(later)
        words = " ".join(paragraph).split()
        if len(words) >= SECTION_WORDS:
            sentence = re.match(r"\S+\s+[^.]{1,80}?\.(?=\s)", " ".join(words))  # "3. Grant of Patent License."
            if sentence and len(sentence.group(0).split()) <= HEADING_WORDS:
                return sentence.group(0).rstrip("."), 0
            return " ".join(words[:7]) + " …", 0
    return None


def _sections(text: str, markdown: bool) -> list[tuple[str | None, str]]:
    """(heading or None, body) pairs; a None heading means 'the heading so far continues'."""
    if not markdown:
        return _text_sections(text)
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    fenced = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            sections.append((match.group(2).strip(), [line]))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in sections]


def _text_sections(text: str) -> list[tuple[str | None, str]]:
    lines = text.split("\n")
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    i = 0
    while i < len(lines):
        found = _text_heading(lines, i)
        if found:
            heading, taken = found
            sections.append((heading, lines[i:i + taken]))
            i += taken
            if not taken:
                sections[-1][1].append(lines[i])
                i += 1
        else:
            sections[-1][1].append(lines[i])
            i += 1
    return [(heading, "\n".join(body)) for heading, body in sections if heading is not None or "".join(body).strip()]


def split_by_tokens(text: str, limit: int) -> list[str]:
    """Windows of at most `limit` tokens, cut at a space when one is near the cut."""
    offsets = encode(text).offsets
    pieces, first = [], 0
    while len(offsets) - first > limit:
        start, end = offsets[first][0], offsets[first + limit - 1][1]
        space = text.rfind(" ", start, end + 1)
        cut = space if space > start + (end - start) // 2 else end
        pieces.append(text[start:cut].strip())
        first += 1
        while first < len(offsets) and offsets[first][0] < cut:
            first += 1
    if first < len(offsets):
        pieces.append(text[offsets[first][0]:].strip())
    return [piece for piece in pieces if piece]


def _units(body: str, target: int, unwrap: bool) -> list[_Unit]:
    paragraphs = [p.strip() for p in _BLANK_LINES.split(body) if p.strip()]
    if unwrap:
        paragraphs = [re.sub(r"\s*\n\s*", " ", p) for p in paragraphs]
    units: list[_Unit] = []
    for paragraph, tokens in zip(paragraphs, count_many(paragraphs)):
        if tokens <= target:
            units.append(_Unit(paragraph, tokens, "\n\n"))
            continue
        pieces = []
        for sentence in _SENTENCE_END.split(paragraph):
            pieces.extend(split_by_tokens(sentence, target))
        for i, (piece, count) in enumerate(zip(pieces, count_many(pieces))):
            units.append(_Unit(piece, count, "\n\n" if i == 0 else " "))
    return units


def _join(units: list[_Unit]) -> str:
    return "".join((unit.sep if i else "") + unit.text for i, unit in enumerate(units))


def _overlap_unit(text: str, overlap: int) -> _Unit | None:
    """The end of `text` holding at most `overlap` tokens, starting at a word."""
    offsets = encode(text).offsets
    if overlap <= 0 or not offsets:
        return None
    start = offsets[max(0, len(offsets) - overlap)][0]
    if start > 0 and not text[start - 1].isspace():
        space = re.search(r"\s", text[start:])
        if space is None:
            return None
        start += space.end()
    tail = text[start:].strip()
    return _Unit(tail, len(encode(tail).ids), "") if tail else None


def _pack(units: list[_Unit], target: int, overlap: int) -> list[str]:
    chunks: list[str] = []
    current: list[_Unit] = []
    fresh = False  # current holds only units not yet emitted (more than the overlap)
    for unit in units:
        if fresh and sum(u.tokens for u in current) + unit.tokens > target:
            text = _join(current)
            chunks.append(text)
            tail = _overlap_unit(text, overlap)
            current, fresh = ([tail] if tail else []), False
        current.append(unit if current else _Unit(unit.text, unit.tokens, ""))
        fresh = True
    if fresh:
        chunks.append(_join(current))
    return chunks


def _heading_only(heading: str | None, body: str) -> bool:
    """The section holds its heading (and its underline or label) and no text."""
    if heading is None:
        return False
    for line in body.split("\n"):
        text = line.strip().lstrip("#").strip().rstrip(".")
        if text and text != heading.rstrip(".") and not _UNDERLINE.match(line) and not _LINK_TARGET.match(line):
            return False
    return True


def chunk_pages(pages: list[Page], kind: str, target: int = TARGET_TOKENS, overlap: int = OVERLAP_TOKENS) -> list[Chunk]:
    chunks: list[Chunk] = []
    heading, pending = "", ""  # pending: bare headings waiting for the text they head
    for page in pages:
        for section_heading, body in _sections(page.text, markdown=kind == "markdown"):
            if section_heading is not None:
                heading = section_heading
            if _heading_only(section_heading, body):
                pending += body.strip() + "\n\n"
                continue
            for text in _pack(_units(pending + body, target, unwrap=kind == "pdf"), target, overlap):
                chunks.append(Chunk(len(chunks), text, page.number, heading))
            pending = ""
    if pending.strip():  # the document ends on a bare heading: keep it, nothing is dropped
        chunks.append(Chunk(len(chunks), pending.strip(), pages[-1].number, heading))
    return chunks
