"""Model output and quoted passages as Markdown that never loads anything by itself.

`safe_markdown` keeps the Markdown a model writes (emphasis, lists, tables, code, links to
web pages) but defuses what would reach the network or run code when the answer is shown:
  - images (`![alt](url)`, reference images): the `!` becomes text, leaving a plain link
    that is only followed if the user clicks it;
  - raw HTML and `<...>` autolinks: the `<` is shown as text;
  - links whose target is not http(s) or mailto (`javascript:`, `data:`, entity tricks):
    shown as text; reference definitions (`[x]: url`) are shown as text too;
  - `$` stays a dollar sign (no LaTeX).
Code (fenced blocks, indented blocks, inline spans) is left exactly as written.

The result is then parsed with a CommonMark parser (markdown-it-py) and checked: if it still
holds an image, HTML or an unsafe link (a parser quirk the rewrite missed), the whole text is
escaped instead, so the guarantee never rests on the rewrite alone.
"""
from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt

_SAFE_TARGET = re.compile(r"\s*(?:https?://|mailto:)", re.IGNORECASE)
_UNESCAPED = r"(?<!\\)((?:\\\\)*)"  # an even run of backslashes: what follows is not escaped
_IMAGE = re.compile(_UNESCAPED + r"!(?=\[)")
_ANGLE = re.compile(_UNESCAPED + r"<")
_DOLLAR = re.compile(_UNESCAPED + r"\$")
_LINK_TARGET = re.compile(r"\]\(")
_DEFINITION = re.compile(r"\]:")
_BACKTICKS = re.compile(r"`+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def escape_all(text: str) -> str:
    """Every Markdown character escaped: the text shows literally (and links nothing)."""
    return _MD_SPECIAL.sub(r"\\\1", text or "")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    parser.validateLink = lambda url: True  # see every link, so the check judges them all
    return parser


def _code_lines(text: str) -> set[int]:
    """Line numbers inside fenced or indented code blocks, as a CommonMark parser sees them."""
    lines: set[int] = set()
    for token in _parser().parse(text):
        if token.type in ("fence", "code_block") and token.map:
            lines.update(range(*token.map))
    return lines


def _defuse_prose(text: str) -> str:
    """Defuse a run of prose lines, leaving inline code spans as they are."""
    out, position = [], 0
    for opener in _BACKTICKS.finditer(text):
        if opener.start() < position:
            continue
        closer = re.compile(r"(?<!`)" + re.escape(opener.group()) + r"(?!`)").search(text, opener.end())
        if closer is None:
            continue
        out.append(_defuse(text[position:opener.start()]))
        out.append(text[opener.start():closer.end()])
        position = closer.end()
    out.append(_defuse(text[position:]))
    return "".join(out)


def _defuse(text: str) -> str:
    text = _IMAGE.sub(r"\1&#33;", text)
    text = _ANGLE.sub(r"\1&lt;", text)
    text = _DEFINITION.sub("]&#58;", text)
    text = _LINK_TARGET.sub(lambda m: m.group() if _SAFE_TARGET.match(text, m.end()) else "]&#40;", text)
    return _DOLLAR.sub(r"\1\\$", text)


def _rewrite(text: str) -> str:
    lines = text.split("\n")
    code = _code_lines(text)
    out, prose = [], []
    for number, line in enumerate(lines):
        if number in code:
            if prose:
                out.append(_defuse_prose("\n".join(prose)))
                prose = []
            out.append(line)
        else:
            prose.append(line)
    if prose:
        out.append(_defuse_prose("\n".join(prose)))
    return "\n".join(out)


def unsafe_parts(markdown: str) -> list[str]:
    """What in `markdown` would load, run or link to something unsafe when rendered (empty: nothing)."""
    found = []
    stack = list(_parser().parse(markdown))
    while stack:
        token = stack.pop()
        if token.children:
            stack.extend(token.children)
        if token.type in ("image", "html_block", "html_inline"):
            found.append(f"{token.type}: {token.content or token.attrs.get('src', '')}")
        elif token.type == "link_open":
            href = str(token.attrs.get("href", ""))
            if not _SAFE_TARGET.match(href) or href != href.strip():
                found.append(f"link: {href}")
    return found


def safe_markdown(text: str) -> str:
    """Model output or a quoted passage as Markdown that loads nothing and links only to web pages."""
    text = text or ""
    rewritten = _rewrite(text)
    return rewritten if not unsafe_parts(rewritten) else escape_all(text)


def write_stream(pieces, interval: float = 0.05) -> str:
    """Like st.write_stream for streamed model text, but every frame is the whole text so far
    made safe (per-piece escaping cannot see an image split across pieces); returns the text."""
    import time

    import streamlit as st

    slot, parts, shown = st.empty(), [], 0.0
    for piece in pieces:
        parts.append(piece)
        if time.monotonic() - shown >= interval:
            slot.markdown(safe_markdown("".join(parts)) + " ▌")
            shown = time.monotonic()
    text = "".join(parts)
    if text:
        slot.markdown(safe_markdown(text))
    else:
        slot.empty()
    return text
