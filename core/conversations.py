"""Chat threads per clone and their messages, appended row by row."""
from __future__ import annotations

from sqlmodel import Session, select

from core.errors import InvalidInput, NotFound
from core.models import Conversation, Message, utcnow
from core.owners import resolve

DEFAULT_TITLE = "New chat"
MAX_TITLE = 60


def title_from_question(question: str, limit: int = 48) -> str:
    """A short thread title: the question on one line, cut at a word boundary."""
    text = " ".join(str(question or "").split())
    if not text:
        return DEFAULT_TITLE
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:-") + "…"


def create_thread(session: Session, clone_id: str, title: str | None = None, owner_id: str | None = None) -> Conversation:
    from core.clones import get_clone

    clone = get_clone(session, clone_id, owner_id)
    thread = Conversation(owner_id=clone.owner_id, clone_id=clone.id, title=_clean_title(title) if title else DEFAULT_TITLE)
    session.add(thread)
    session.commit()
    session.refresh(thread)
    return thread


def get_thread(session: Session, thread_id: str, owner_id: str | None = None) -> Conversation:
    """The thread if it belongs to the owner (the session's unless given); else NotFound."""
    thread = session.get(Conversation, thread_id) if thread_id else None
    if thread is None or thread.owner_id != resolve(session, owner_id):
        raise NotFound("That chat no longer exists; start a new one.")
    return thread


def list_threads(session: Session, clone_id: str, owner_id: str | None = None) -> list[Conversation]:
    """A clone's threads (the owner's only), most recently active first."""
    query = select(Conversation).where(Conversation.clone_id == clone_id,
                                       Conversation.owner_id == resolve(session, owner_id))
    return list(session.exec(query.order_by(Conversation.updated_at.desc(), Conversation.created_at.desc())).all())


def _clean_title(title: str) -> str:
    title = " ".join(str(title or "").split())
    if not title:
        raise InvalidInput("A chat needs a title; type one and try again.")
    return title[:MAX_TITLE]


def rename_thread(session: Session, thread_id: str, title: str) -> Conversation:
    thread = get_thread(session, thread_id)
    thread.title = _clean_title(title)
    session.add(thread)
    session.commit()
    session.refresh(thread)
    return thread


def delete_thread(session: Session, thread_id: str) -> None:
    """Remove a thread; its messages go with it (ON DELETE CASCADE)."""
    session.delete(get_thread(session, thread_id))
    session.commit()


def thread_messages(session: Session, thread_id: str, limit: int | None = None,
                    owner_id: str | None = None) -> list[Message]:
    """A thread's messages (the owner's only) in the order they were written; with `limit`, only the newest ones."""
    query = select(Message).where(Message.conversation_id == thread_id, Message.owner_id == resolve(session, owner_id))
    if limit is None:
        return list(session.exec(query.order_by(Message.created_at)).all())
    newest = session.exec(query.order_by(Message.created_at.desc()).limit(limit)).all()
    return list(reversed(newest))


def append_message(session: Session, thread: Conversation, message: Message) -> Message:
    """Add one message row to a thread (never rewriting earlier ones) and touch the thread."""
    message.conversation_id = thread.id
    message.owner_id = thread.owner_id
    thread.updated_at = utcnow()
    session.add(message)
    session.add(thread)
    session.commit()
    return message
