"""Text as it is read aloud in a call: no Markdown, citation markers, URLs' clutter or emoji.

Only what is spoken is cleaned; the saved answer keeps its Markdown and [n] markers.
"""
from __future__ import annotations

import re

from core.providers.speech import speakable as _speakable

_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF\U00002B00-\U00002BFF"
    "\U0000FE0F\U0000200D\U000020E3\U00002190-\U000021FF\U00002300-\U000023FF]"
)
_EMPHASIS = re.compile(r"(?<!\w)[*_~]{1,3}(?=\S)|(?<=\S)[*_~]{1,3}(?!\w)")
_TABLE = re.compile(r"^\s*\|?\s*:?-{3,}.*$|\|", re.MULTILINE)
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", re.MULTILINE)
_URL = re.compile(r"\bhttps?://([^\s/]+)\S*")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")


def for_speech(text: str) -> str:
    """`text` (Markdown from a model) as words to say, on one line."""
    text = _IMAGE.sub(r"\1", text)
    text = _speakable(text)  # links, [n] markers, headings, list marks, bold, code
    text = _RULE.sub(" ", text)
    text = _TABLE.sub(" ", text)
    text = _URL.sub(r"\1", text)
    text = _EMOJI.sub("", text)
    text = _EMPHASIS.sub("", text)
    return " ".join(text.split())
