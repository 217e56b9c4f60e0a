"""Counts for GET /api/metrics, one owner's rows only."""
from __future__ import annotations

from sqlalchemy import func, select

from core.models import Clone, Conversation, Document, Message, User


def owner_metrics(runtime, owner_id: str) -> dict[str, int]:
    def count(model, *where) -> int:
        return int(connection.execute(select(func.count()).select_from(model).where(model.owner_id == owner_id, *where))
                   .scalar_one())

    with runtime.engine.connect() as connection:
        known_user = connection.execute(select(func.count()).select_from(User).where(User.id == owner_id)).scalar_one()
        chunks = connection.execute(select(func.coalesce(func.sum(Document.chunk_count), 0)).where(
            Document.owner_id == owner_id, Document.status == "ready")).scalar_one()
        return {
            "users": max(1, int(known_user)),  # the token's owner: a signed-in user, or the local owner
            "clones": count(Clone),
            "conversations": count(Conversation),
            "messages": count(Message),
            "documents": count(Document),
            "documents_ready": count(Document, Document.status == "ready"),
            "chunks": int(chunks),
        }
