"""Question sets, the plain view of a test suite: its name and its active questions in order.

Question sets grew into test suites (core.quality.suites, migration 0002); this keeps the
Prompts page's simple editor and A/B runs working on them. Renaming or re-listing questions
keeps the richer fields of every case whose question stays.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from core.errors import InvalidInput
from core.quality import suites

MAX_QUESTIONS = 200
MAX_QUESTION_CHARS = 2000


@dataclass
class QuestionSet:
    id: str
    owner_id: str
    clone_id: str
    name: str
    questions: list[str]
    created_at: datetime


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


def _view(session: Session, suite) -> QuestionSet:
    questions = [case.question for case in suites.suite_cases(session, suite.id, "active", suite.owner_id)]
    return QuestionSet(suite.id, suite.owner_id, suite.clone_id, suite.name, questions, suite.created_at)


def list_question_sets(session: Session, clone_id: str, owner_id: str | None = None) -> list[QuestionSet]:
    return [_view(session, suite) for suite in suites.list_suites(session, clone_id, owner_id)]


def get_question_set(session: Session, set_id: str, owner_id: str | None = None) -> QuestionSet:
    return _view(session, suites.get_suite(session, set_id, owner_id))


def create_question_set(session: Session, clone_id: str, name: str, questions,
                        owner_id: str | None = None) -> QuestionSet:
    rows = [{"question": q} for q in clean_questions(questions)]
    return _view(session, suites.create_suite(session, clone_id, name, rows, owner_id=owner_id))


def update_question_set(session: Session, set_id: str, *, name: str | None = None, questions=None,
                        owner_id: str | None = None) -> QuestionSet:
    suite = suites.get_suite(session, set_id, owner_id)
    if name is not None:
        suite = suites.rename_suite(session, set_id, name, owner_id)
    if questions is not None:
        by_question = {case.question: case for case in suites.suite_cases(session, set_id, "active", owner_id)}
        rows = []
        for question in clean_questions(questions):
            case = by_question.get(question)
            rows.append({**suites.case_record(case), "id": case.id} if case else {"question": question})
        suites.replace_cases(session, set_id, rows, owner_id)
    return _view(session, suite)


def delete_question_set(session: Session, set_id: str, owner_id: str | None = None) -> None:
    suites.delete_suite(session, set_id, owner_id)
