"""An in-memory BM25 index over one clone's cached chunks (our own, over numpy arrays).

Why not a library: bm25s (the well-kept option) builds the same sparse matrix, but it brings
its own tokenizer and a scipy dependency, and our chunks are already in memory in the clone's
matrix; a term -> (rows, weights) posting table in three numpy arrays scores a query in well
under a millisecond at 10k chunks (figures in README, `bench/retrieval.py`).

Tokens: lower-cased words, Snowball-stemmed, stop words dropped, numbers without leading
zeros ("0722" -> "722"), and dotted versions kept whole ("3.14", "1.2"). Each chunk is
indexed with its contextual header (document title and section heading) before its text.
BM25 parameters are the usual k1 = 1.2, b = 0.75 (Lucene's defaults).
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
import snowballstemmer

K1, B = 1.2, 0.75
_TOKEN = re.compile(r"\d+(?:\.\d+)+|[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_STOP = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or
other our out over own same she should so some such than that the their them then there these they this
those through to too under until up very was we were what when where which while who whom why will with
would you your yours
""".split())
_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def _normal(word: str) -> str:
    if word.isdigit():
        return str(int(word)) if len(word) < 12 else word
    if word[0].isdigit() and "." in word:
        return word
    return _stemmer.stemWord(word.split("'")[0].split("’")[0])


def tokens(text: str) -> list[str]:
    """Index terms of a text, in order (repeats kept)."""
    return [_normal(w) for w in _TOKEN.findall(text.lower()) if w not in _STOP]


class BM25:
    """Postings for every term: rows (int32) and BM25 term weights (float32), idf per term."""

    def __init__(self, documents: list[str]):
        self.size = len(documents)
        vocabulary: dict[str, int] = {}
        rows, terms = [], []
        lengths = np.zeros(self.size, dtype=np.float32)
        for row, text in enumerate(documents):
            ids = [vocabulary.setdefault(t, len(vocabulary)) for t in tokens(text)]
            lengths[row] = len(ids)
            rows.extend([row] * len(ids))
            terms.extend(ids)
        self.vocabulary = vocabulary
        if not terms:
            self.pointers = np.zeros(len(vocabulary) + 1, dtype=np.int64)
            self.rows = np.empty(0, dtype=np.int32)
            self.weights = np.empty(0, dtype=np.float32)
            self.idf = np.empty(0, dtype=np.float32)
            return
        key = np.asarray(terms, dtype=np.int64) * max(1, self.size) + np.asarray(rows, dtype=np.int64)
        pairs, counts = np.unique(key, return_counts=True)  # sorted by term, then row
        term_of, row_of = pairs // max(1, self.size), (pairs % max(1, self.size)).astype(np.int32)
        average = float(lengths.mean()) or 1.0
        tf = counts.astype(np.float32)
        norm = K1 * (1 - B + B * lengths[row_of] / average)
        self.rows = row_of
        self.weights = (tf * (K1 + 1) / (tf + norm)).astype(np.float32)
        df = np.bincount(term_of, minlength=len(vocabulary))
        self.pointers = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        self.idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5)).astype(np.float32)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for the query (0 where no term matches)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term in dict.fromkeys(tokens(query)):
            t = self.vocabulary.get(term)
            if t is None:
                continue
            start, end = self.pointers[t], self.pointers[t + 1]
            scores[self.rows[start:end]] += self.idf[t] * self.weights[start:end]  # rows unique per term
        return scores

    def top(self, scores: np.ndarray, n: int) -> np.ndarray:
        """Rows of the `n` best positive scores, best first."""
        matched = np.flatnonzero(scores > 0)
        if len(matched) > n:
            matched = matched[np.argpartition(-scores[matched], n - 1)[:n]]
        return matched[np.argsort(-scores[matched], kind="stable")]

    def idf_of(self, term: str) -> float:
        t = self.vocabulary.get(term)
        return float(self.idf[t]) if t is not None else math.log(1 + (self.size + 0.5) / 0.5)
