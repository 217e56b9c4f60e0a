"""The knowledge tool hosted voice agents call by webhook: the clone's best passages, boiled
down by the offline extractive answerer to a few sentences short enough to be spoken.

Two request shapes are accepted: `{"query", "clone_id"}` and the Clone Advisor plan's
`{"function_name": "query_persona_knowledge", "parameters": {"query", "persona_id"}}`.
"""
from __future__ import annotations

import re

from core.api.errors import ApiError
from core.api.limits import question_from
from core.chat import cited_numbers
from core.providers.offline_llm import NO_QUESTION, NOT_FOUND, extractive_answer, split_sentences

FUNCTION_NAME = "query_persona_knowledge"
MAX_SPOKEN = 500
CITATION_CHARS = 300
NOTHING = "I couldn't find anything about that in the knowledge base."
_MARKER = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")


def parse_call(body: dict) -> tuple[str, str]:
    """(clone_id, query) from either shape; 400 with one sentence otherwise."""
    if "function_name" in body:
        if body.get("function_name") != FUNCTION_NAME:
            raise ApiError(400, f"Unknown function '{str(body.get('function_name'))[:60]}'; "
                                f"the only function is '{FUNCTION_NAME}'.")
        parameters = body.get("parameters")
        if not isinstance(parameters, dict):
            raise ApiError(400, "Send the function's arguments as an object in \"parameters\".")
        return _clone_id(parameters, "persona_id"), question_from(parameters, "query")
    return _clone_id(body, "clone_id"), question_from(body, "query")


def _clone_id(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise ApiError(400, f"Say which clone to ask with its id in \"{field}\" (GET /api/clones lists them).")
    return value.strip()


def spoken(text: str, limit: int = MAX_SPOKEN) -> str:
    """Plain sentences (no [n] markers, bullets or line breaks), at most `limit` characters, ending at a sentence end."""
    lines = [line.strip().removeprefix("- ").strip() for line in _MARKER.sub("", text).splitlines()]
    flat = " ".join(line if line.endswith((".", "!", "?", ":")) else line + "." for line in lines if line)
    flat = flat.replace(":.", ":")
    kept = ""
    for sentence in split_sentences(flat):
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        return kept.rstrip(":") if not kept.endswith(":") else kept[:-1] + "."
    return _cut(flat, limit)


def _cut(sentence: str, limit: int) -> str:
    """One over-long sentence, shortened at a clause (or word) boundary and closed with a full stop."""
    head = sentence[: limit - 1]
    for mark in (";", ",", " "):
        at = head.rfind(mark)
        if at > limit // 2:
            return head[:at].rstrip(" ,;:") + "."
    return head.rstrip() + "."


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CITATION_CHARS else text[:CITATION_CHARS].rsplit(" ", 1)[0] + "…"


def knowledge_answer(query: str, sources) -> tuple[dict, bool]:
    """({"content", "citations"}, found) for the retrieved sources."""
    text = extractive_answer(query, sources) if sources else NOT_FOUND
    if text in (NOT_FOUND, NO_QUESTION):
        return {"content": NOTHING, "citations": []}, False
    cited = cited_numbers(text)
    chosen = [s for s in sources if s.n in cited] or list(sources)
    citations = [{"document": s.document, "page": s.page, "text": _short(s.text), "score": round(float(s.score), 4)}
                 for s in chosen]
    return {"content": spoken(text), "citations": citations}, True
