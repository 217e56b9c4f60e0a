"""A clone's saved question sets: the suites A/B runs (and later, judges) ask."""
from __future__ import annotations

from sqlmodel import Session, select

from core.errors import InvalidInput, NotFound
from core.owners import owned, owner_of
from core.models import Clone, QuestionSet

MAX_QUESTIONS = 200
MAX_QUESTION_CHARS = 2000


def parse_questions(text: str) -> list[str]:
    """One question per line; blank lines and repeats dropped, order kept."""
    return clean_questions(text.splitlines())


def clean_questions(questions) -> list[str]:
    cleaned = list(dict.fromkeys(" ".join(str(q).split()) for q in questions))
    cleaned = [q for q in cleaned if q]
    if not cleaned:
        raise InvalidInput("A question set needs at least one question; write one per line.")
    if len(cleaned) > MAX_QUESTIONS:
        raise InvalidInput(f"A question set holds at most {MAX_QUESTIONS} questions; split it into smaller sets.")
    too_long = next((q for q in cleaned if len(q) > MAX_QUESTION_CHARS), None)
    if too_long:
        raise InvalidInput(f"The question starting '{too_long[:40]}' is too long; keep each under {MAX_QUESTION_CHARS} characters.")
    return cleaned


def _clean_name(session: Session, clone_id: str, name: str, except_id: str | None = None) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise InvalidInput("Give the question set a name, then save again.")
    for other in list_question_sets(session, clone_id):
        if other.id != except_id and other.name.lower() == name.lower():
            raise InvalidInput(f"This clone already has a question set called '{name}'; choose another name.")
    return name


def list_question_sets(session: Session, clone_id: str) -> list[QuestionSet]:
    query = select(QuestionSet).where(QuestionSet.clone_id == clone_id, QuestionSet.owner_id == owner_of(session))
    query = query.order_by(QuestionSet.created_at)
    return list(session.exec(query).all())


def get_question_set(session: Session, set_id: str) -> QuestionSet:
    return owned(session, QuestionSet, set_id, "That question set no longer exists; pick another one.")


def create_question_set(session: Session, clone_id: str, name: str, questions) -> QuestionSet:
    clone = owned(session, Clone, clone_id, "That clone no longer exists; pick another one.")
    row = QuestionSet(
        owner_id=clone.owner_id, clone_id=clone_id, name=_clean_name(session, clone_id, name),
        questions=clean_questions(questions),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def update_question_set(session: Session, set_id: str, *, name: str | None = None, questions=None) -> QuestionSet:
    row = get_question_set(session, set_id)
    if name is not None:
        row.name = _clean_name(session, row.clone_id, name, except_id=row.id)
    if questions is not None:
        row.questions = clean_questions(questions)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def delete_question_set(session: Session, set_id: str) -> None:
    session.delete(get_question_set(session, set_id))
    session.commit()
