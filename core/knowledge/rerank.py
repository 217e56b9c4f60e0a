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
         + W_SENTENCE * share of the query's rare terms in the chunk's best sentence

The weights were set on the development set and checked on the second set (README).
"""
from __future__ import annotations

from dataclasses import dataclass

W_TEXT = 0.30
W_DOC = 0.25
W_HEAD = 0.10
W_FUSED = 0.10
W_SENTENCE = 0.0  # measured: +1 question of 36 at hit@5 for ~5 ms per query at 10k chunks; off
CANDIDATES = 30


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
    sentence: float = 0.0
    rerank: float = 0.0


def rerank(candidates: list[Candidate]) -> list[Candidate]:
    """Score in place and return best first."""
    if not candidates:
        return candidates
    best_text = max(c.text_score for c in candidates) or 1.0
    best_fused = max(c.fused for c in candidates) or 1.0
    for c in candidates:
        c.rerank = (c.cosine + W_TEXT * c.text_score / best_text + W_DOC * c.document + W_HEAD * c.heading
                    + W_FUSED * c.fused / best_fused + W_SENTENCE * c.sentence)
    return sorted(candidates, key=lambda c: (-c.rerank, -c.cosine))
