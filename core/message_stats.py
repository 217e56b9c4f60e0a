"""Plain-column copies of each message's figures, for analytics (tables message_stat, message_source).

A message keeps its timings, prompt versions and citations (with the quoted passages) as JSON.
Reading that JSON back for 100,000 messages takes seconds on SQLite and on PostgreSQL
(bench/analytics.py measures it), so every message saved through an ORM session also writes
one narrow `message_stat` row (and one `message_source` row per retrieved source of an answer)
in the same flush. The analytics queries read only these. Rows go with their message
(ON DELETE CASCADE); migration 0002 fills them for messages saved before it.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timezone

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from core.models import Conversation, Message, MessageSource, MessageStat

log = logging.getLogger(__name__)

LAYER_COLUMNS = {"system": "v_system", "rag": "v_rag", "user": "v_user"}
TIMING_COLUMNS = {  # key in Message.timings (ms) -> column
    "retrieval": "retrieval_ms", "first_token": "first_token_ms", "total": "total_ms",
    "stt": "stt_ms", "speech": "speech_ms", "first_audio": "first_audio_ms",
}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _version(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _day(when: datetime | None):
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.date()


def stat_fields(message: Message, clone_id: str) -> dict:
    """The message_stat columns for one message (odd or missing values become NULL, never an error)."""
    timings = message.timings if isinstance(message.timings, dict) else {}
    versions = message.prompt_versions if isinstance(message.prompt_versions, dict) else {}
    citations = [c for c in message.citations or [] if isinstance(c, dict)] if isinstance(message.citations, list) else []
    scores = [s for s in (_number(c.get("score")) for c in citations) if s is not None]
    fields = {
        "owner_id": message.owner_id, "clone_id": clone_id, "conversation_id": message.conversation_id,
        "role": message.role, "status": message.status, "provider": message.provider, "model": message.model,
        "created_at": message.created_at, "day": _day(message.created_at),
        "input_tokens": int(message.input_tokens or 0), "output_tokens": int(message.output_tokens or 0),
        "cost_usd": _number(message.cost_usd) or 0.0,
        "voice": _number(timings.get("first_audio")) is not None,
        "sources": len(citations), "cited": sum(1 for c in citations if c.get("cited")),
        "top_score": max(scores) if scores else None,
    }
    fields.update({column: _version(versions.get(layer)) for layer, column in LAYER_COLUMNS.items()})
    fields.update({column: _number(timings.get(key)) for key, column in TIMING_COLUMNS.items()})
    return fields


SHARED = ("owner_id", "clone_id", "day", "status", "provider", "model", "v_system", "v_rag", "v_user")


def source_rows(message: Message, fields: dict) -> list[dict]:
    """One message_source row per document an answer's sources came from (`fields`: its stat_fields)."""
    if message.role != "assistant" or not isinstance(message.citations, list):
        return []
    shared = {name: fields[name] for name in SHARED}
    documents: dict[tuple, dict] = {}
    for citation in (c for c in message.citations if isinstance(c, dict)):
        document_id, name = str(citation.get("document_id") or ""), str(citation.get("document") or "")
        row = documents.setdefault((document_id, name), {
            **shared, "message_id": message.id, "position": len(documents), "document_id": document_id,
            "document": name, "retrieved": 0, "cited": 0, "top_score": None})
        row["retrieved"] += 1
        row["cited"] += bool(citation.get("cited"))
        score = _number(citation.get("score"))
        if score is not None and (row["top_score"] is None or score > row["top_score"]):
            row["top_score"] = score
    return list(documents.values())


def _opens_thread(session: Session, message: Message) -> bool:
    """A question that is the first message of its thread."""
    if message.role != "user":
        return False
    if any(isinstance(obj, Conversation) and obj.id == message.conversation_id for obj in session.new):
        return True
    earlier = session.execute(select(Message.id).where(Message.conversation_id == message.conversation_id,
                                                       Message.id != message.id).limit(1)).first()
    return earlier is None


def _clone_of(session: Session, conversation_id: str | None) -> str | None:
    for obj in session.new:
        if isinstance(obj, Conversation) and obj.id == conversation_id:
            return obj.clone_id
    thread = session.get(Conversation, conversation_id) if conversation_id else None
    return thread.clone_id if thread is not None else None


def _sync(session: Session, message: Message, new: bool) -> None:
    clone_id = _clone_of(session, message.conversation_id)
    if clone_id is None:  # no thread: the insert itself will fail on its foreign key
        return
    fields = stat_fields(message, clone_id)
    stat = None if new else session.get(MessageStat, message.id)
    if stat is None:
        session.add(MessageStat(message_id=message.id, opens_thread=_opens_thread(session, message), **fields))
    else:
        for name, value in fields.items():
            setattr(stat, name, value)
        session.execute(delete(MessageSource).where(MessageSource.message_id == message.id))
    session.add_all(MessageSource(**row) for row in source_rows(message, fields))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    """Every message added or changed in this flush gets its stat (and source) rows."""
    pending = [(m, True) for m in session.new if isinstance(m, Message)]
    pending += [(m, False) for m in session.dirty if isinstance(m, Message) and session.is_modified(m)]
    if not pending:
        return
    with session.no_autoflush:
        for message, new in pending:
            try:
                _sync(session, message, new)
            except Exception:  # bookkeeping must never cost the user a saved message
                log.exception("Could not record analytics figures for message %s", message.id)
