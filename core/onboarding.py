"""First steps: the welcome a new owner sees once, and questions to try in an empty chat.

Suggested questions come from the clone's own ready documents, offline and without a model:
their section headings ("Opening hours" -> "What should I know about opening hours?"), or,
in a document without headings, the subject of its opening sentence ("The orchard has
forty-two pear trees." -> "What should I know about the orchard?"). The question keeps to the
document's own words, so retrieval finds the section it came from. One question per document in turn, so three
suggestions cover three documents when there are three.
"""
from __future__ import annotations

import re
from sqlmodel import select

from core.owners import resolve
from core.models import Document
from core.preferences import get_preference, set_preference

WELCOME_KEY = "onboarding.welcome"
SUGGESTIONS = 3
MAX_DOCUMENTS = 12  # documents looked at (the oldest ready ones first)
MAX_TOPIC_WORDS = 8
_QUESTION_WORDS = ("who", "what", "when", "where", "why", "how", "which", "can", "do", "does", "is", "are")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SUBJECT = re.compile(
    r"^(?P<subject>(?:the |a |an |our |its )?[\w'’-]+(?: [\w'’-]+){0,4}?) "
    r"(?:is|are|was|were|has|have|had|must|should|can|will|opens|starts|runs|holds|keeps|uses|takes|gets)\b",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"[*_`#>\[\]]")


# ---------------------------------------------------------------- welcome


def welcome_dismissed(runtime, owner: str | None = None) -> bool:
    return bool(get_preference(runtime, WELCOME_KEY, resolve(runtime, owner)).get("dismissed"))


def dismiss_welcome(runtime, owner: str | None = None) -> None:
    """Hide the first-run welcome for good (for this owner, on every device)."""
    set_preference(runtime, WELCOME_KEY, {"dismissed": True}, resolve(runtime, owner))


# ---------------------------------------------------------------- suggested questions


def suggested_questions(runtime, clone_id: str, limit: int = SUGGESTIONS, owner: str | None = None) -> list[str]:
    """Up to `limit` questions this clone's ready documents can answer (empty before any is ready)."""
    return [question for question, _ in suggestions(runtime, clone_id, limit, owner)]


def suggestions(runtime, clone_id: str, limit: int = SUGGESTIONS, owner: str | None = None) -> list[tuple[str, str]]:
    """(question, file name of the document it comes from), up to `limit`."""
    with runtime.session() as session:
        documents = session.exec(
            select(Document).where(Document.clone_id == clone_id, Document.owner_id == resolve(runtime, owner),
                                   Document.status == "ready").order_by(Document.created_at).limit(MAX_DOCUMENTS)
        ).all()
    per_document = [(_questions_for(runtime, document), document.filename) for document in documents]
    picked: dict[str, str] = {}
    for turn in range(max((len(questions) for questions, _ in per_document), default=0)):
        for questions, filename in per_document:
            if turn < len(questions):
                picked.setdefault(questions[turn], filename)
            if len(picked) == limit:
                return list(picked.items())
    return list(picked.items())


def _questions_for(runtime, document: Document) -> list[str]:
    rows = sorted(runtime.store.document_chunks(document.id).select(["chunk_index", "heading", "text"]).to_pylist(),
                  key=lambda row: row["chunk_index"])
    headings = list(dict.fromkeys(_clean(row["heading"] or "") for row in rows if (row["heading"] or "").strip()))
    title = headings[0] if headings and _opens_document(rows, headings[0]) else ""
    questions = [heading_question(heading) for heading in headings if heading != title]
    if not questions and rows:
        if topic := sentence_topic(rows[0]["text"]):
            questions.append(f"What should I know about {topic}?")
    return [q for q in questions if q]


def _opens_document(rows: list[dict], heading: str) -> bool:
    first = rows[0]["text"].lstrip()
    return first.startswith("# ") and _clean(first[2:].split("\n", 1)[0]) == heading


def _clean(text: str) -> str:
    return " ".join(_MARKUP.sub("", text).split()).strip(" :.-–—")


def heading_question(heading: str) -> str:
    """A section heading as a question about its document."""
    words = heading.split()
    if not words or len(words) > MAX_TOPIC_WORDS:
        return ""
    if heading.endswith("?"):
        return heading
    if words[0].lower() in _QUESTION_WORDS:
        return f"{heading}?"
    return f"What should I know about {_lower_first(heading)}?"


def sentence_topic(text: str) -> str:
    """The subject of a passage's first sentence ("The orchard has forty-two trees." -> "the orchard")."""
    body = " ".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    first = _SENTENCE.split(_clean(body), 1)[0]
    match = _SUBJECT.match(first)
    return _lower_first(match.group("subject")) if match else ""


def _lower_first(phrase: str) -> str:
    """Lower-case a leading capital ("Opening hours" -> "opening hours"), never an acronym ("GPS setup")."""
    first, _, rest = phrase.partition(" ")
    if first[:1].isupper() and (first[1:].islower() or not first[1:]):
        first = first.lower()
    return f"{first} {rest}".strip()
