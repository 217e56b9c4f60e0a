"""Draft test cases from the clone's own documents, offline.

A salient sentence of a passage becomes a question with its source (document, page) and key
phrases as expectations, the sentence itself as the reference answer; a few questions the
documents do not answer are added with "should say it does not know". Drafts count only once a
person accepts them (core.quality.suites.accept_draft).
"""
from __future__ import annotations

import math
import re
from collections import Counter

from core.owners import resolve
from core.quality.suites import add_cases, get_suite, suite_cases

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_FACT = re.compile(
    r"\b\d{1,2}(?:[:.]\d{2})?\s?(?:am|pm)\b|[$€£₹]\s?\d[\d,.]*|\b\d[\d,.]*(?:\s?(?:%|km|miles?|metres?|meters?|"
    r"minutes?|hours?|days?|weeks?|months?|years?|kg|g|ml|l))?\b|\b(?:monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december)\b",
    re.IGNORECASE)
_STOP = frozenset("""a about after all also an and any are as at be been before but by can could did do does each
for from had has have he her his how i if in into is it its just may more most must no not of on one only or other
our out over she should so some such than that the their them then there these they this those through to too
under up us was we were what when where which while who why will with would you your every each""".split())
OUT_OF_SCOPE = (
    "What is your favourite film of all time?",
    "Who won the football World Cup in 1998?",
    "What will the weather be like in Lisbon tomorrow?",
    "How do I reset the password of my television?",
    "What is the capital city of Mongolia?",
)
MIN_WORDS, MAX_WORDS = 6, 40


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _content(text: str) -> list[str]:
    return [w for w in _words(text) if w not in _STOP and len(w) > 2 and not w.isdigit()]


def _clean(sentence: str) -> str:
    sentence = re.sub(r"^[\s>*\-•#\d.)]+(?=\D)", "", sentence)
    return " ".join(re.sub(r"[*_`]+", "", sentence).split())


def _sentences(text: str) -> list[str]:
    out = []
    for part in _SENTENCE.split(text or ""):
        part = _clean(part)
        if MIN_WORDS <= len(part.split()) <= MAX_WORDS and part[-1:] in ".!" and not part.startswith("#"):
            out.append(part)
    return out


def _question(sentence: str, document: str, heading: str, rare: list[str]) -> tuple[str, list[str]]:
    """A templated question and the key phrases its answer must contain."""
    fact = _FACT.search(sentence)
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", document)
    if fact:
        blanked = (sentence[: fact.start()] + "what" + sentence[fact.end():]).rstrip(" .!")
        blanked = blanked[0].lower() + blanked[1:] if blanked[:2] != blanked[:2].upper() else blanked
        return f"According to {stem}, {blanked}?", [fact.group(0).strip()]
    topic = heading.strip() or " ".join(rare[:2])
    return f"What does {stem} say about {topic.lower()}?", rare[:2]


def draft_cases(runtime, clone_id: str, limit: int = 8, out_of_scope: int = 2) -> list[dict]:
    """Proposed cases (file form) from the clone's ready documents; nothing is stored."""
    from core.knowledge.ingest import list_documents

    passages = []
    for document in list_documents(runtime, clone_id):
        if document.status != "ready":
            continue
        rows = runtime.store.document_chunks(document.id).to_pylist()
        passages += [(document.filename, row.get("page"), row.get("heading") or "", row["text"]) for row in rows]
    frequency = Counter(w for *_, text in passages for w in set(_content(text)))
    total = max(1, len(passages))

    def rarity(word: str) -> float:
        return math.log((1 + total) / (1 + frequency[word])) + 1

    candidates = []
    for document, page, heading, text in passages:
        best = None
        for sentence in _sentences(text):
            words = list(dict.fromkeys(_content(sentence)))
            if len(words) < 3:
                continue
            score = sum(sorted((rarity(w) for w in words), reverse=True)[:4]) + (1.5 if _FACT.search(sentence) else 0)
            if best is None or score > best[0]:
                best = (score, sentence, sorted(words, key=rarity, reverse=True))
        if best:
            candidates.append((best[0], document, page, heading, best[1], best[2]))
    candidates.sort(key=lambda c: -c[0])
    drafts, per_document, seen = [], Counter(), set()
    cap = max(2, math.ceil(limit / max(1, len({c[1] for c in candidates}))))
    for _, document, page, heading, sentence, rare in candidates:
        if len(drafts) >= limit or per_document[document] >= cap:
            continue
        question, phrases = _question(sentence, document, heading, rare)
        if question.lower() in seen:
            continue
        seen.add(question.lower())
        per_document[document] += 1
        source = {"document": document, **({"page": page} if page else {})}
        drafts.append({"question": question, "must_contain": phrases, "expected_source": source, "reference": sentence})
    corpus = set(frequency)
    unanswered = [q for q in OUT_OF_SCOPE if not set(_content(q)) & corpus]
    drafts += [{"question": q, "should_refuse": True} for q in unanswered[:out_of_scope]]
    return drafts


def add_drafts(runtime, clone_id: str, suite_id: str, limit: int = 8, owner_id: str | None = None) -> list:
    """Store new drafts in the suite (questions it already has are skipped); returns the drafts added."""
    owner_id = resolve(runtime, owner_id)
    proposed = draft_cases(runtime, clone_id, limit)
    with runtime.session() as session:
        suite = get_suite(session, suite_id, owner_id)
        existing = {c.question.lower() for c in suite_cases(session, suite.id, None, owner_id)}
        fresh = [case for case in proposed if case["question"].lower() not in existing]
        if not fresh:
            return []
        added = add_cases(session, suite.id, fresh, "draft", owner_id)
        session.commit()
        for case in added:
            session.refresh(case)
        return added
