"""The rerank step over the fused candidates: a lexical-and-semantic score, measured.

No cross-encoder could be installed offline: the rerankers on PyPI that we found (flashrank,
rerankers, sentence-transformers' CrossEncoder) download their weights from a model hub at
run time, and no package in the index ships ms-marco or similar cross-encoder weights. So
each candidate is scored on what retrieval already has in memory:

  rerank = cosine (question vs chunk with its contextual header)
         + W_TEXT  * BM25 score / best BM25 score among the candidates
         + W_DOC   * document signal (the query names this document: title, number, version, status)
         + W_HEAD  * share of the query's rare terms in the chunk's section heading
         + W_FUSED * RRF score / best RRF score
         + W_WINDOW * share of the query's idf weight, beyond the words that name the chunk's
                      document, found in the chunk's best 20-token window (term proximity)
         + W_ANSWER * the chunk holds the kind of answer asked for: a date, a share, a length of
                      time, a size (core.knowledge.answer_types); checked on the best ANSWER_POOL only,
                      as a lift this small only reorders near the top (and regexes cost ~50 µs a chunk)

The weights were set on the development set and checked on the second set (README): the
proximity window lifted hit@1 most; BM25 and RRF then add little beyond it.
"""
from __future__ import annotations

from dataclasses import dataclass

W_TEXT = 0.10
W_DOC = 0.25
W_HEAD = 0.10
W_FUSED = 0.0
W_WINDOW = 0.50
W_ANSWER = 0.10
ANSWER_POOL = 8
CANDIDATES = 20  # from each leg (more when more passages are asked for): 30 ranked no better on either set


@dataclass
class Candidate:
    row: dict
    cosine: float
    text_score: float = 0.0
    vector_rank: int | None = None
    text_rank: int | None = None
    fused: float = 0.0
    document: float = 0.0
    heading: float = 0.0
    window: float = 0.0
    answer: float = 0.0  # 1 when the chunk holds the kind of answer the question asks for
    rerank: float = 0.0
    index_row: int | None = None  # row in the clone's in-memory BM25 index


def rerank(candidates: list[Candidate]) -> list[Candidate]:
    """Score in place and return best first."""
    if not candidates:
        return candidates
    best_text = max(c.text_score for c in candidates) or 1.0
    best_fused = max(c.fused for c in candidates) or 1.0
    for c in candidates:
        c.rerank = (c.cosine + W_TEXT * c.text_score / best_text + W_DOC * c.document + W_HEAD * c.heading
                    + W_FUSED * c.fused / best_fused + W_WINDOW * c.window)
    return sorted(candidates, key=lambda c: (-c.rerank, -c.cosine))


def lift_answers(ranked: list[Candidate], answers: list[bool]) -> list[Candidate]:
    """`ranked` with its first len(answers) candidates lifted by W_ANSWER where they hold the kind
    of answer asked for, and re-sorted among themselves."""
    best = ranked[:len(answers)]
    for c, holds in zip(best, answers):
        c.answer = float(holds)
        c.rerank += W_ANSWER * c.answer
    return sorted(best, key=lambda c: (-c.rerank, -c.cosine)) + ranked[len(answers):]
