"""Comparing prompt variants: the playground (one question) and A/B runs over a question set.

Both variants of a question answer from the SAME retrieved sources (retrieve once, generate
twice). Run records keep both answers with their timings, tokens and cost, the verdict of a
person (a / b / tie) and a `scores` map that automatic judges can fill later:
`scores[judge] = {"a": float, "b": float, ...}`.
"""
from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from time import perf_counter
from typing import Callable, Iterator, Sequence

from sqlmodel import Session, select

from core.clones import get_clone
from core.errors import InvalidInput, NotFound, StudioError
from core.owners import owned, owner_of
from core.models import ABResult, ABRun, Clone
from core.prompts import LAYERS, active_prompts, get_version, validate_layer
from core.providers.base import Source, Usage
from core.question_sets import get_question_set

WINNERS = ("a", "b", "tie")


# ---------------------------------------------------------------- variants


@dataclass
class Variant:
    """Three layer texts to answer with; `versions[layer]` is None where the text is an unsaved draft."""

    label: str
    prompts: dict[str, str]
    versions: dict[str, int | None]
    retrieval: dict = field(default_factory=dict)  # overrides of the clone's top_k / hybrid / min_score

    def record(self) -> dict:
        drafts = {layer: self.prompts[layer] for layer in LAYERS if self.versions.get(layer) is None}
        return {"label": self.label, "versions": dict(self.versions), "drafts": drafts,
                **({"retrieval": dict(self.retrieval)} if self.retrieval else {})}


RETRIEVAL_KEYS = ("top_k", "hybrid", "min_score")


def retrieval_overrides(clone: Clone, retrieval: dict | None) -> dict:
    """The retrieval settings (top_k 1-20, hybrid, min_score 0-1) that differ from the clone's own."""
    overrides = {}
    for name, value in (retrieval or {}).items():
        if name not in RETRIEVAL_KEYS:
            raise InvalidInput(f"A variant can change top_k, hybrid or min_score, not '{name}'.")
        if name == "top_k" and not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 20):
            raise InvalidInput("Sources per answer (top k) must be a whole number from 1 to 20.")
        if name == "min_score" and not (isinstance(value, (int, float)) and 0 <= value <= 1):
            raise InvalidInput("The minimum relevance must be between 0 and 1.")
        value = bool(value) if name == "hybrid" else (float(value) if name == "min_score" else value)
        if value != getattr(clone, name):
            overrides[name] = value
    return overrides


def with_retrieval(clone: Clone, retrieval: dict | None) -> Clone:
    """A detached copy of the clone with a variant's retrieval settings (the stored clone is untouched)."""
    return clone.model_copy(update=retrieval) if retrieval else clone


def _describe(versions: dict[str, int | None]) -> str:
    return " · ".join(f"{layer} {'draft' if versions[layer] is None else f'v{versions[layer]}'}" for layer in LAYERS)


def make_variant(session: Session, clone: Clone, choice: dict | None = None, label: str = "",
                 retrieval: dict | None = None) -> Variant:
    """Per layer: an int picks that saved version, a str is an unsaved draft (checked like a save),
    missing or None means the active version. `retrieval` may override top_k, hybrid, min_score."""
    active = active_prompts(session, clone.id)
    prompts, versions = {}, {}
    for layer in LAYERS:
        picked = (choice or {}).get(layer)
        if isinstance(picked, bool):
            raise InvalidInput("Pick a version number or write a draft for each layer.")
        if isinstance(picked, int):
            prompts[layer], versions[layer] = get_version(session, clone.id, layer, picked).content, picked
        elif isinstance(picked, str):
            validate_layer(clone, layer, picked)
            prompts[layer], versions[layer] = picked, None
        elif layer in active:
            prompts[layer], versions[layer] = active[layer].content, active[layer].version
        else:
            raise NotFound(f"The {layer} layer has no active version; activate one first.")
    return Variant(label or _describe(versions), prompts, versions, retrieval_overrides(clone, retrieval))


def variant_from_record(session: Session, clone: Clone, record: dict) -> Variant:
    """Rebuild a variant from a run's record (to run it again)."""
    choice = {layer: (record.get("drafts") or {}).get(layer, (record.get("versions") or {}).get(layer))
              for layer in LAYERS}
    return make_variant(session, clone, choice, record.get("label", ""), record.get("retrieval"))


# ---------------------------------------------------------------- answering


@dataclass
class VariantResult:
    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    first_token_ms: float | None = None
    total_ms: float | None = None
    provider: str = ""
    model: str = ""
    error: str | None = None

    def meta(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "text"}


class VariantStream:
    """Iterate for the answer's text as it streams; `result` is complete once iteration ends.

    A provider error ends the stream early and is kept in `result.error` (shown under the answer).
    """

    def __init__(self, runtime, clone: Clone, question: str, sources: Sequence[Source], variant: Variant,
                 provider: str | None = None, model: str | None = None):
        self.runtime, self.clone, self.question, self.sources = runtime, clone, question, list(sources)
        self.variant, self.provider, self.model = variant, provider, model
        from core.chat import resolve_model

        provider, model = resolve_model(clone, provider, model)
        self.result = VariantResult(provider=provider, model=model)

    def __iter__(self) -> Iterator[str]:
        from core.chat import generate

        start, parts, usage = perf_counter(), [], None
        try:
            for event in generate(self.runtime, self.clone, self.question, self.sources,
                                  prompts=self.variant.prompts, provider=self.provider, model=self.model):
                if isinstance(event, Usage):
                    usage = event
                    continue
                if self.result.first_token_ms is None:
                    self.result.first_token_ms = _ms(start)
                parts.append(event.text)
                yield event.text
        except StudioError as error:
            self.result.error = str(error)
        finally:
            self._finish(start, "".join(parts), usage)

    def _finish(self, start: float, text: str, usage: Usage | None) -> None:
        from core.chat import cost_usd
        from core.tokens import count_tokens

        result = self.result
        result.text, result.total_ms = text, _ms(start)
        result.input_tokens = usage.input_tokens if usage else 0
        result.output_tokens = usage.output_tokens if usage else count_tokens(text)
        result.cost_usd = cost_usd(result.provider, result.model, result.input_tokens, result.output_tokens)

    def run(self) -> VariantResult:
        for _ in self:
            pass
        return self.result


def _ms(start: float) -> float:
    return round((perf_counter() - start) * 1000, 2)


@dataclass
class Comparison:
    """One question, its shared sources, and a stream per variant (the playground)."""

    question: str
    sources: list[Source]
    retrieval_ms: float
    a: VariantStream
    b: VariantStream
    sources_b: list[Source] | None = None  # B's own, when its retrieval settings differ from A's

    @property
    def shared(self) -> bool:
        return self.sources_b is None


def compare(runtime, clone_id: str, question: str, variant_a: Variant, variant_b: Variant) -> Comparison:
    """Retrieve once for `question`; the two streams answer from exactly these sources (unless the
    variants' retrieval settings differ: then each answers from its own retrieval)."""
    from core.knowledge.search import retrieve

    question = " ".join(str(question or "").split())
    if not question:
        raise InvalidInput("Type a question to compare the two variants.")
    with runtime.session() as session:
        clone = get_clone(session, clone_id)
    start = perf_counter()
    sources = list(retrieve(runtime, with_retrieval(clone, variant_a.retrieval), question).sources)
    sources_b = None
    if variant_b.retrieval != variant_a.retrieval:
        sources_b = list(retrieve(runtime, with_retrieval(clone, variant_b.retrieval), question).sources)
    retrieval_ms = _ms(start)
    return Comparison(question, sources, retrieval_ms, VariantStream(runtime, clone, question, sources, variant_a),
                      VariantStream(runtime, clone, question, sources if sources_b is None else sources_b, variant_b),
                      sources_b)


def source_records(sources: Sequence[Source]) -> list[dict]:
    return [{**asdict(source), "score": float(source.score)} for source in sources]


# ---------------------------------------------------------------- A/B runs


def run_ab(runtime, clone_id: str, question_set_id: str, variant_a: Variant, variant_b: Variant,
           on_result: Callable[[int, int, ABResult], None] | None = None) -> ABRun:
    """Ask every question of the set under A and B (same sources per question) and store the answers."""
    with runtime.session() as session:
        clone = get_clone(session, clone_id)
        question_set = get_question_set(session, question_set_id)
        if question_set.clone_id != clone.id:
            raise InvalidInput("That question set belongs to another clone; pick one of this clone's sets.")
        run = ABRun(owner_id=clone.owner_id, clone_id=clone.id, question_set_id=question_set.id,
                    variant_a=variant_a.record(), variant_b=variant_b.record())
        session.add(run)
        session.commit()
        questions = list(question_set.questions)
    try:
        for position, question in enumerate(questions):
            result = _answer_both(runtime, clone, run, position, question, variant_a, variant_b)
            if on_result:
                on_result(position + 1, len(questions), result)
    except BaseException:
        _set_status(runtime, run.id, "failed")
        raise
    return _set_status(runtime, run.id, "complete")


def _answer_both(runtime, clone, run, position, question, variant_a, variant_b) -> ABResult:
    comparison = compare(runtime, clone.id, question, variant_a, variant_b)
    a, b = comparison.a.run(), comparison.b.run()
    result = ABResult(
        owner_id=run.owner_id, run_id=run.id, position=position, question=comparison.question,
        answer_a=a.text, answer_b=b.text, sources=source_records(comparison.sources),
        meta_a={**a.meta(), "retrieval_ms": comparison.retrieval_ms},
        meta_b={**b.meta(), "retrieval_ms": comparison.retrieval_ms,
                **({} if comparison.shared else {"sources": source_records(comparison.sources_b)})},
        shown_first=secrets.choice("ab"),  # blind votes show the two answers in this order
    )
    with runtime.session() as session:
        session.add(result)
        session.commit()
        session.refresh(result)
    return result


def _set_status(runtime, run_id: str, status: str) -> ABRun:
    with runtime.session() as session:
        run = session.get(ABRun, run_id)
        run.status = status
        session.add(run)
        session.commit()
        session.refresh(run)
        return run


def list_runs(session: Session, clone_id: str) -> list[ABRun]:
    query = select(ABRun).where(ABRun.clone_id == clone_id, ABRun.owner_id == owner_of(session))
    query = query.order_by(ABRun.created_at.desc())
    return list(session.exec(query).all())


def get_run(session: Session, run_id: str) -> ABRun:
    return owned(session, ABRun, run_id, "That A/B run no longer exists; pick another one.")


def run_results(session: Session, run_id: str) -> list[ABResult]:
    query = select(ABResult).where(ABResult.run_id == run_id, ABResult.owner_id == owner_of(session))
    query = query.order_by(ABResult.position)
    return list(session.exec(query).all())


def delete_run(session: Session, run_id: str) -> None:
    session.delete(get_run(session, run_id))
    session.commit()


def mark_winner(session: Session, result_id: str, winner: str | None) -> ABResult:
    """A person's verdict for one question: "a", "b", "tie", or None to clear it."""
    if winner is not None and winner not in WINNERS:
        raise InvalidInput("A winner is A, B or a tie.")
    result = owned(session, ABResult, result_id, "That A/B answer no longer exists.")
    result.winner = winner
    session.add(result)
    session.commit()
    session.refresh(result)
    return result


@dataclass(frozen=True)
class Tally:
    a: int = 0
    b: int = 0
    tie: int = 0
    undecided: int = 0

    @property
    def leader(self) -> str | None:
        """"a" or "b" when one has more wins, None on a draw or no verdicts."""
        return None if self.a == self.b else ("a" if self.a > self.b else "b")


def tally(session: Session, run_id: str) -> Tally:
    counts = {"a": 0, "b": 0, "tie": 0, "undecided": 0}
    for result in run_results(session, run_id):
        counts[result.winner or "undecided"] += 1
    return Tally(**counts)


def record_scores(session: Session, result_id: str, judge: str, scores: dict) -> ABResult:
    """An automatic judge's scores for both answers, kept beside any other judge's."""
    if not judge.strip() or not {"a", "b"} <= set(scores):
        raise InvalidInput("A judge's scores need its name and a score for both A and B.")
    result = owned(session, ABResult, result_id, "That A/B answer no longer exists.")
    result.scores = {**(result.scores or {}), judge: dict(scores)}
    session.add(result)
    session.commit()
    session.refresh(result)
    return result


def run_totals(results: Sequence[ABResult]) -> dict[str, dict]:
    """Summed tokens and cost and mean timings per variant, for the run's footer."""
    totals: dict[str, dict] = {}
    for side in ("a", "b"):
        metas = [getattr(result, f"meta_{side}") or {} for result in results]
        timed = [m["total_ms"] for m in metas if m.get("total_ms") is not None]
        totals[side] = {
            "input_tokens": sum(m.get("input_tokens", 0) for m in metas),
            "output_tokens": sum(m.get("output_tokens", 0) for m in metas),
            "cost_usd": sum(m.get("cost_usd", 0.0) for m in metas),
            "mean_total_ms": sum(timed) / len(timed) if timed else None,
            "errors": sum(1 for m in metas if m.get("error")),
        }
    return totals
