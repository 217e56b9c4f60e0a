"""Blind A/B votes and the judge's pairwise votes on A/B runs.

A person sees the two answers as "left" and "right" in an order drawn per case when the run
was made (`ab_result.shown_first`), never which version wrote which; the vote is stored un-shuffled
in `ab_result.winner`. The judge votes with the answers in both orders (core.quality.judge).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlmodel import Session

from core.ab import get_run, mark_winner, run_results
from core.owners import resolve
from core.errors import InvalidInput, NotFound
from core.models import ABResult, ABRun

CHOICES = ("left", "right", "tie")


@dataclass
class BlindPair:
    result_id: str
    question: str
    left: str
    right: str
    vote: str | None  # left / right / tie as this person sees it, None when not voted


def _sides(result: ABResult) -> tuple[str, str]:
    return ("a", "b") if result.shown_first != "b" else ("b", "a")


def blind_pair(result: ABResult) -> BlindPair:
    left, right = _sides(result)
    shown = {left: "left", right: "right", "tie": "tie"}.get(result.winner) if result.winner else None
    return BlindPair(result.id, result.question, getattr(result, f"answer_{left}"), getattr(result, f"answer_{right}"),
                     shown)


def cast_vote(session: Session, result_id: str, choice: str | None, owner_id: str | None = None) -> ABResult:
    """A person's blind vote: "left", "right", "tie" or None (clear), stored as a / b / tie."""
    owner_id = resolve(session, owner_id)
    if choice is not None and choice not in CHOICES:
        raise InvalidInput("Vote for the left answer, the right one, or a tie.")
    result = session.get(ABResult, result_id)
    if result is None or result.owner_id != owner_id:
        raise NotFound("That A/B answer no longer exists.")
    left, right = _sides(result)
    winner = {"left": left, "right": right, "tie": "tie"}.get(choice) if choice else None
    return mark_winner(session, result_id, winner)


def judge_ab_run(runtime, run_id: str, spec: str, on_progress: Callable[[int, int], None] | None = None,
                 owner_id: str | None = None) -> ABRun:
    """The judge votes on every answer pair of the run (both orders); an unusable reply leaves that pair uncounted."""
    owner_id = resolve(runtime, owner_id)
    from core.quality.judge import Judge

    judge = Judge(runtime, spec)
    with runtime.session() as session:
        run = get_run(session, run_id)
        if run.owner_id != owner_id:
            raise NotFound("That A/B run no longer exists; pick another one.")
        results = run_results(session, run_id)
    for done, result in enumerate(results, start=1):
        sources = [{k: s.get(k) for k in ("n", "document", "page", "text")} for s in result.sources]
        verdict = judge.compare(result.question, sources, result.answer_a, result.answer_b)
        with runtime.session() as session:
            row = session.get(ABResult, result.id)
            row.judge_vote, row.judge_detail = verdict.vote, {**verdict.record(), "judge": judge.spec}
            session.add(row)
            session.commit()
        if on_progress:
            on_progress(done, len(results))
    with runtime.session() as session:
        run = session.get(ABRun, run_id)
        run.judge = judge.spec
        session.add(run)
        session.commit()
        session.refresh(run)
        return run
