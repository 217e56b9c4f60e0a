"""Answer text, as it streams, cut into pieces to speak: the first one early, then every
completed sentence as soon as it exists (never only the last one of a tick).

The first piece ends at the first sentence end, or at a comma / dash once there are 40 or
more characters, or at a word boundary after 100; later pieces are whole sentences merged up
to 20 characters and cut at a clause before 240 characters. A piece under two words waits for the next. Sentence ends
come from core.providers.speech.SentenceBuffer, which does not cut abbreviations ("e.g."),
decimals ("3.5"), e-mail addresses or URLs ("example.com/a.b"), and ends list items.
"""
from __future__ import annotations

import re

from core.call.speakable import for_speech
from core.providers.speech import SentenceBuffer, _split_long  # cuts a sentence over 240 characters at a clause

FIRST_COMMA = 40
FIRST_WORDS = 100
MIN_PIECE = 20
_CLAUSE = re.compile(r"[,;:—–]\s|\s-\s")


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


class Chunker:
    def __init__(self) -> None:
        self._sentences = _Sentences()
        self._held = ""  # cleaned text waiting to reach a speakable size
        self.started = False  # the first piece has gone

    def feed(self, delta: str) -> list[str]:
        pieces = self._take(self._sentences.feed(delta))
        if not self.started and not pieces:
            early = self._early()
            if early:
                pieces = [early]
        self.started = self.started or bool(pieces)
        return pieces

    def flush(self) -> list[str]:
        pieces = self._take(self._sentences.flush())
        if self._held:
            pieces.append(self._held)
            self._held = ""
        return [p for p in pieces if p]

    def _take(self, sentences: list[str]) -> list[str]:
        out = []
        for sentence in sentences:
            text = for_speech(sentence)
            if not text:
                continue
            joint = "," if self._held and self._held[-1] not in ".!?,;:" else ""
            self._held = f"{self._held}{joint} {text}".strip()
            minimum = 1 if not self.started and not out else MIN_PIECE
            if _words(self._held) >= 2 and len(self._held) >= minimum:
                out.extend(_split_long(self._held))
                self._held = ""
        return out

    def _early(self) -> str:
        """Before any sentence has ended: a clause after 40 characters, or words after 100."""
        pending = self._sentences.pending
        spoken = for_speech(pending)
        if len(spoken) < FIRST_COMMA:
            return ""
        cut = None
        for match in _CLAUSE.finditer(pending):
            if len(for_speech(pending[: match.start()])) >= FIRST_COMMA:
                cut = match.end()
                break
        if cut is None and len(spoken) >= FIRST_WORDS and pending.endswith((" ", "\n")):
            cut = len(pending)
        if cut is None:
            return ""
        piece = for_speech(self._held + " " + pending[:cut])
        if _words(piece) < 2:
            return ""
        self._sentences.drop(cut)
        self._held = ""
        return piece


class _Sentences(SentenceBuffer):
    """SentenceBuffer that shows the text of the sentence still being written."""

    @property
    def pending(self) -> str:
        return self._text

    def drop(self, count: int) -> None:
        self._text = self._text[count:]


FIRST_CLAUSE_WORDS = 3
PHRASE_WORDS = 4  # before a conjunction, the first phrase needs this many words, and leaves 3
_CONJUNCTION = re.compile(r"\s(?=(?:and|but|or|so|because|while|although|which|where)\s)", re.I)


def first_clause(piece: str) -> list[str]:
    """The first piece of an answer as the parts to synthesize one after the other: its first clause
    (up to a comma, semicolon, colon or dash after 3 or more words) alone, so the first audio waits
    only for a few words of synthesis, then the rest. Without such a clause, the words before a
    conjunction ("It climbs 450 metres | and takes four hours."), where a speaker may pause too.
    Otherwise the piece stays whole."""
    for match in _CLAUSE.finditer(piece):
        head, rest = piece[: match.start() + 1].strip(), piece[match.end():].strip()
        if _words(head) >= FIRST_CLAUSE_WORDS:
            return [head, rest] if _words(rest) >= 2 else [piece]
    for match in _CONJUNCTION.finditer(piece):
        head, rest = piece[: match.start()].strip(), piece[match.end():].strip()
        if _words(head) >= PHRASE_WORDS and _words(rest) >= 3:
            return [head, rest]
    return [piece]


def chunk_text(text: str, step: int = 7) -> list[str]:
    """The pieces of a whole text streamed `step` characters at a time (tests, the CLI)."""
    chunker, pieces = Chunker(), []
    for i in range(0, len(text), step):
        pieces += chunker.feed(text[i : i + step])
    return pieces + chunker.flush()
