"""Handing uploaded files and pasted text to the core, one plain outcome per item."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from core.errors import StudioError
from core.knowledge.ingest import add_file, add_text
from core.runtime import Runtime


@dataclass(frozen=True)
class Outcome:
    filename: str
    accepted: bool
    message: str  # why it was refused, or what happens next


def add_uploads(runtime: Runtime, clone_id: str, files: Iterable[tuple[str, bytes]]) -> list[Outcome]:
    """Queue every acceptable file for ingestion; a refused file never stops the others."""
    outcomes = []
    for filename, data in files:
        try:
            add_file(runtime, clone_id, filename, data)
        except StudioError as error:
            outcomes.append(Outcome(filename, False, str(error)))
        else:
            outcomes.append(Outcome(filename, True, "Processing; it shows as ready when it can be searched."))
    return outcomes


def add_pasted(runtime: Runtime, clone_id: str, title: str, text: str) -> Outcome:
    try:
        document = add_text(runtime, clone_id, title, text)
    except StudioError as error:
        return Outcome(title or "Pasted text", False, str(error))
    return Outcome(document.filename, True, "Processing; it shows as ready when it can be searched.")
