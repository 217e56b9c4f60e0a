"""One chat turn as the page sees it: raw text pieces for safe_markdown.write_stream, the rest kept on the side."""
from __future__ import annotations

from typing import Iterable, Iterator

from core.chat import Finished, Retrieved, Token
from core.models import Message


class StreamedTurn:
    """Wraps `core.chat.ask` events; iterate `text()` for the answer's raw pieces (render them with
    studio.safe_markdown.write_stream, never piece by piece)."""

    def __init__(self, events: Iterable):
        self._events = events
        self.thread_id: str | None = None
        self.sources: list = []
        self.message: Message | None = None
        self.citations: list[dict] = []

    def text(self) -> Iterator[str]:
        for event in self._events:
            if isinstance(event, Retrieved):
                self.thread_id = event.thread_id
                self.sources = list(event.sources)
            elif isinstance(event, Token):
                yield event.text
            elif isinstance(event, Finished):
                self.message = event.message
                self.citations = list(event.citations)
