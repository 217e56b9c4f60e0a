"""Deterministic evaluators (always offline) and the MiniLM similarity check.

Every evaluator returns a `Score`: a value in 0-1, pass/fail and a reason a person can read.
`evaluate(case, outcome, settings)` runs every evaluator that applies to the case.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
_REFUSAL = re.compile(
    r"\b(i (?:could ?n[o']t|can ?n[o']t|cannot|was unable to|am unable to|'m unable to) find"
    r"|i (?:do ?n[o']t|don't) (?:know|have (?:any |enough )?information)"
    r"|i'?m not sure|i am not sure|no (?:information|mention) (?:about|of|on)"
    r"|(?:is|are)(?: not|n't) (?:covered|mentioned) in"
    r"|not in my (?:knowledge|documents|sources)|my (?:knowledge base|documents|sources) (?:do|does)(?: not|n't))",
    re.IGNORECASE)
_SHORT = 3  # sentences with fewer content words are not checked for grounding (greetings, "Yes.")
_STOP = frozenset("""a an and are as at be but by can do does for from has have how i in is it its of on or so
that the their them there they this to was we were what when where which who why will with you your""".split())


@dataclass
class Score:
    score: float
    passed: bool
    reason: str
    spread: float | None = None  # judge criteria: max - min over the k repeats

    def record(self) -> dict:
        record = {"score": round(float(self.score), 4), "passed": bool(self.passed), "reason": self.reason}
        if self.spread is not None:
            record["spread"] = round(float(self.spread), 4)
        return record


@dataclass
class Outcome:
    """What the clone did for one case: the answer, every retrieved source (dicts as chat.citations
    makes them, with `cited`), and the measured latency and cost."""

    answer: str
    sources: list[dict] = field(default_factory=list)
    latency_ms: float | None = None
    cost_usd: float = 0.0

    @property
    def cited(self) -> list[dict]:
        numbers = cited_numbers(self.answer)
        return [s for s in self.sources if s.get("n") in numbers]


def cited_numbers(text: str) -> set[int]:
    return {int(n) for group in _CITE.findall(text or "") for n in re.split(r"[,;]", group)}


def _norm(text: str) -> str:
    return " ".join(str(text or "").lower().split())


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _field(case, name: str, default=None):
    return case.get(name, default) if isinstance(case, dict) else getattr(case, name, default)


# ---------------------------------------------------------------- the checks


def must_contain(phrases: Sequence[str], answer: str) -> Score:
    text = _norm(answer)
    missing = [p for p in phrases if _norm(p) not in text]
    found = len(phrases) - len(missing)
    if not missing:
        return Score(1.0, True, f"Mentions all {len(phrases)}: " + ", ".join(f"'{p}'" for p in phrases) + ".")
    return Score(found / len(phrases), False,
                 f"Mentions {found} of {len(phrases)}; missing " + ", ".join(f"'{p}'" for p in missing) + ".")


def must_not_contain(phrases: Sequence[str], answer: str) -> Score:
    text = _norm(answer)
    present = [p for p in phrases if _norm(p) in text]
    if not present:
        return Score(1.0, True, f"Avoids all {len(phrases)} forbidden phrases.")
    return Score(1 - len(present) / len(phrases), False,
                 "Says what it must not: " + ", ".join(f"'{p}'" for p in present) + ".")


def regex(pattern: str, answer: str) -> Score:
    match = re.search(pattern, answer or "", re.IGNORECASE | re.MULTILINE)
    if match:
        return Score(1.0, True, f"Matches /{pattern}/ at '{_clip(match.group(0), 40)}'.")
    return Score(0.0, False, f"Does not match /{pattern}/.")


def _same_document(expected: str, actual: str) -> bool:
    a, b = _norm(expected), _norm(actual)
    return a == b or a.rsplit(".", 1)[0] == b.rsplit(".", 1)[0]


def expected_source(document: str, page: int | None, outcome: Outcome) -> Score:
    where = f"'{document}'" + (f" page {page}" if page is not None else "")
    cited = [s for s in outcome.cited if _same_document(document, s.get("document", ""))]
    if cited and (page is None or any(s.get("page") == page for s in cited)):
        return Score(1.0, True, f"Cites {where}.")
    if cited:
        pages = sorted({s.get("page") for s in cited if s.get("page") is not None})
        return Score(0.5, False, f"Cites '{document}' but page {', '.join(map(str, pages)) or 'unknown'}, not page {page}.")
    retrieved = any(_same_document(document, s.get("document", "")) for s in outcome.sources)
    if retrieved:
        return Score(0.25, False, f"{where} was retrieved but the answer does not cite it.")
    return Score(0.0, False, f"{where} was not among the retrieved sources.")


def citations_valid(outcome: Outcome) -> Score:
    numbers = sorted(cited_numbers(outcome.answer))
    if not numbers:
        return Score(1.0, True, "The answer has no [n] markers to check.")
    known = {s.get("n") for s in outcome.sources}
    bad = [n for n in numbers if n not in known]
    if not bad:
        return Score(1.0, True, f"All {len(numbers)} markers point at retrieved sources.")
    return Score(1 - len(bad) / len(numbers), False,
                 "Cites sources that were not retrieved: " + ", ".join(f"[{n}]" for n in bad) + ".")


def is_refusal(answer: str) -> bool:
    return bool(_REFUSAL.search(answer or ""))


def refusal(should_refuse: bool, answer: str) -> Score:
    refused = is_refusal(answer)
    if should_refuse:
        return (Score(1.0, True, "Says it does not know, as it should.") if refused
                else Score(0.0, False, "Answers although the documents do not cover this; it should say it does not know."))
    return (Score(0.0, False, "Says it does not know, but this question should be answered.") if refused
            else Score(1.0, True, "Answers the question (no 'I don't know')."))


def ceiling(value: float | None, limit: float, unit: str) -> Score:
    if value is None:
        return Score(0.0, False, f"No {unit} was measured for this answer.")
    shown = (lambda v: f"{v:,.0f} ms") if unit == "latency" else (lambda v: f"${v:.4f}")
    if value <= limit:
        return Score(1.0, True, f"{unit.capitalize()} {shown(value)} is within the ceiling of {shown(limit)}.")
    return Score(limit / value if value else 0.0, False, f"{unit.capitalize()} {shown(value)} is over the ceiling of {shown(limit)}.")


# ---------------------------------------------------------------- grounding and similarity


def sentences(answer: str) -> list[str]:
    """The answer's checkable sentences: [n] markers and Markdown quoting removed, short ones skipped."""
    out = []
    for part in _SENTENCE.split(_CITE.sub(" ", answer or "")):
        part = re.sub(r"^[\s>*\-•#]+|[*_`]+", " ", part).strip()
        if len(_content_words(part)) >= _SHORT:
            out.append(" ".join(part.split()))
    return out


def _content_words(text: str) -> set[str]:
    return {w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP and len(w) > 1}


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words that appear in the passage."""
    words = _content_words(sentence)
    return len(words & _content_words(passage)) / len(words) if words else 0.0


Embed = Callable[[list[str]], np.ndarray]


def grounded(outcome: Outcome, threshold: float, embed: Embed | None) -> Score:
    """Each sentence's support is its best lexical or embedding overlap with a cited passage."""
    checked = sentences(outcome.answer)
    if not checked:
        return Score(1.0, True, "The answer has no sentence long enough to check.")
    passages = [s.get("text", "") for s in outcome.cited]
    if not passages:
        return Score(0.0, False, f"None of the {len(checked)} sentences cites a passage (threshold {threshold:.2f}).")
    support = [max(lexical_support(s, p) for p in passages) for s in checked]
    weak = [i for i, value in enumerate(support) if value < threshold]
    if weak and embed is not None:
        vectors = embed([checked[i] for i in weak] + passages)
        cosine = vectors[: len(weak)] @ vectors[len(weak):].T
        for row, i in enumerate(weak):
            support[i] = max(support[i], float(cosine[row].max()))
    unsupported = [checked[i] for i, value in enumerate(support) if value < threshold]
    ok = len(checked) - len(unsupported)
    reason = f"{ok} of {len(checked)} sentences are supported by a cited passage (threshold {threshold:.2f})"
    if unsupported:
        reason += f"; unsupported: '{_clip(unsupported[0])}'"
    return Score(ok / len(checked), not unsupported, reason + ".")


def similarity(reference: str, answer: str, threshold: float, embed: Embed) -> Score:
    text = _CITE.sub("", answer or "").strip()
    if not text:
        return Score(0.0, False, "The answer is empty.")
    vectors = embed([text, reference])
    cosine = max(0.0, float(vectors[0] @ vectors[1]))
    verdict = "close to" if cosine >= threshold else "far from"
    return Score(cosine, cosine >= threshold,
                 f"Cosine similarity to the reference answer is {cosine:.2f} ({verdict} it; threshold {threshold:.2f}).")


def minilm_embed(texts: list[str]) -> np.ndarray:
    from core.providers.registry import get_embedder

    return get_embedder("minilm").embed(texts)


# ---------------------------------------------------------------- one case


def applicable(case, settings: dict) -> list[str]:
    """The evaluators that apply to a case, in the order they are shown."""
    names = []
    if _field(case, "must_contain"):
        names.append("must_contain")
    if _field(case, "must_not_contain"):
        names.append("must_not_contain")
    if _field(case, "regex"):
        names.append("regex")
    if _field(case, "expected_document"):
        names.append("expected_source")
    names += ["citations", "refusal"]
    if not _field(case, "should_refuse"):
        names.append("grounded")
    if _field(case, "reference"):
        names.append("similarity")
    if settings.get("latency_ms") is not None:
        names.append("latency")
    if settings.get("cost_usd") is not None:
        names.append("cost")
    return names


def evaluate(case, outcome: Outcome, settings: dict, embed: Embed | None = minilm_embed) -> dict[str, Score]:
    """Every applicable evaluator's Score for one answer. Grounding is skipped for a refusal."""
    scores: dict[str, Score] = {}
    for name in applicable(case, settings):
        if name == "must_contain":
            scores[name] = must_contain(_field(case, "must_contain"), outcome.answer)
        elif name == "must_not_contain":
            scores[name] = must_not_contain(_field(case, "must_not_contain"), outcome.answer)
        elif name == "regex":
            scores[name] = regex(_field(case, "regex"), outcome.answer)
        elif name == "expected_source":
            scores[name] = expected_source(_field(case, "expected_document"), _field(case, "expected_page"), outcome)
        elif name == "citations":
            scores[name] = citations_valid(outcome)
        elif name == "refusal":
            scores[name] = refusal(bool(_field(case, "should_refuse")), outcome.answer)
        elif name == "grounded":
            if not is_refusal(outcome.answer):
                scores[name] = grounded(outcome, float(settings.get("grounded_threshold", 0.5)), embed)
        elif name == "similarity" and embed is not None:
            scores[name] = similarity(_field(case, "reference"), outcome.answer,
                                      float(settings.get("similarity_threshold", 0.6)), embed)
        elif name == "latency":
            scores[name] = ceiling(outcome.latency_ms, float(settings["latency_ms"]), "latency")
        elif name == "cost":
            scores[name] = ceiling(outcome.cost_usd, float(settings["cost_usd"]), "cost")
    return scores


LABELS = {
    "must_contain": "Must mention", "must_not_contain": "Must not mention", "regex": "Pattern",
    "expected_source": "Expected source cited", "citations": "Citations valid", "refusal": "Knows what it doesn't know",
    "grounded": "Grounded", "similarity": "Similar to reference", "latency": "Latency", "cost": "Cost",
}


def label(name: str) -> str:
    if name.startswith("judge:"):
        return "Judge: " + name.split(":", 1)[1].replace("_", " ")
    return LABELS.get(name, name)

