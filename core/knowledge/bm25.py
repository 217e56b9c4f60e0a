"""An in-memory BM25 index over one clone's cached chunks (our own, over numpy arrays).

Why not a library: bm25s (the well-kept option) builds the same sparse matrix, but it brings
its own tokenizer and a scipy dependency, and our chunks are already in memory in the clone's
matrix; a term -> (rows, weights) posting table in three numpy arrays scores a query in well
under a millisecond at 10k chunks (figures in README, `bench/retrieval.py`).

Tokens: lower-cased words, Snowball-stemmed, stop words dropped, numbers without leading
zeros ("0722" -> "722"), dotted versions kept whole ("3.14", "1.2"), and currency signs, % and #
by their names ("$" -> "dollar", so "the dollar sign" finds a heading "Why ``$``?"). Each chunk is
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
WINDOW = 20  # tokens in a proximity window (about a sentence)
_TOKEN = re.compile(r"\d+(?:\.\d+)+|[^\W_]+(?:['’][^\W_]+)?|[$€£¥₹%#]", re.UNICODE)
_SYMBOLS = {"$": "dollar", "€": "euro", "£": "pound", "¥": "yen", "₹": "rupe", "%": "percent", "#": "hash"}
_STOP = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or
other our out over own same she should so some such than that the their them then there these they this
those through to too under until up very was we were what when where which while who whom why will with
would you your yours
""".split())
_stemmer = snowballstemmer.stemmer("english")
_VERSION_MARK = re.compile(r"(?<=[^\W\d_]{2})v(?=\d)")  # "gplv3": the v marks a version
_LETTERS_DIGITS = re.compile(r"[^\W\d_]+|\d+")
VARIANT_MIN = 5  # only words this long get a spelling variant ("licence" -> "license")
# British and American spellings (of stems): licence/license, organise/organize, colour/color, centre/center
_SPELLINGS = (("c", "s"), ("s", "c"), ("s", "z"), ("z", "s"), ("our", "or"), ("or", "our"), ("tr", "ter"), ("ter", "tr"))


@lru_cache(maxsize=200_000)
def _normal(word: str) -> str:
    if word in _SYMBOLS:  # "$" is found by "dollar sign", "##" by "double hash"
        return _SYMBOLS[word]
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

    def __init__(self, documents: list[str], header_tokens: list[int] | None = None):
        """`header_tokens`: how many leading tokens of each document are its contextual header
        (indexed, but left out of `body`, the positions that `best_window` looks at)."""
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
        self.flat = np.asarray(terms, dtype=np.int32)  # every row's term ids in text order
        counts = lengths.astype(np.int64)
        self.ends = np.cumsum(counts)
        skip = np.minimum(np.asarray(header_tokens, dtype=np.int64), counts) if header_tokens is not None else 0
        self.starts = self.ends - counts + skip
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

    def resolve(self, terms: list[str]) -> list[str]:
        """The query's terms as the index knows them: a term the documents never use is replaced by
        its British/American spelling variant ("licenc" -> "licens", "colour" -> "color") or split
        into its letter and digit parts ("gplv3" -> "gpl", "3") when the index knows them. A term
        still unknown is kept: it matches nothing and still counts as unmatched."""
        resolved: list[str] = []
        for term in terms:
            variant = self._variant(term)
            parts = _LETTERS_DIGITS.findall(_VERSION_MARK.sub(" ", term))
            if variant in self.vocabulary or len(parts) < 2 or term[0].isdigit():
                resolved.append(variant)
                continue
            parts = [self._variant(_normal(p)) for p in parts]
            resolved.extend(parts if any(p in self.vocabulary for p in parts) else [term])
        return resolved

    def _variant(self, term: str) -> str:
        if term in self.vocabulary or len(term) < VARIANT_MIN - 1:
            return term
        for old, new in _SPELLINGS:
            at = term.find(old, 2)
            while at >= 0:
                candidate = term[:at] + new + term[at + len(old):]
                if candidate in self.vocabulary:
                    return candidate
                at = term.find(old, at + 1)
        return term

    def scores(self, query: str | list[str]) -> np.ndarray:
        """BM25 score of every row for the query or its terms (0 where no term matches)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term in dict.fromkeys(tokens(query) if isinstance(query, str) else query):
            t = self.vocabulary.get(term)
            if t is None:
                continue
            start, end = self.pointers[t], self.pointers[t + 1]
            scores[self.rows[start:end]] += self.idf[t] * self.weights[start:end]  # rows unique per term
        return scores

    def best_windows(self, rows: np.ndarray, term_ids: np.ndarray, weights: np.ndarray,
                     missing: np.ndarray | float = 0.0, size: int = WINDOW) -> np.ndarray:
        """For each row, the share of the query's weight held by its best window of `size`
        consecutive body tokens (windows overlap by half): the query's terms close together, as in
        the sentence that answers. `weights` (rows x terms, or one row for all) weighs each of
        `term_ids` per row; `missing` adds the weight of query terms the index lacks."""
        rows = np.asarray(rows, dtype=np.int64)
        weights = np.broadcast_to(np.asarray(weights, dtype=np.float32), (len(rows), len(term_ids)))
        total = weights.sum(axis=1) + missing
        if not len(rows) or not len(term_ids):
            return np.zeros(len(rows), dtype=np.float32)
        step = max(1, size // 2)
        lengths = self.ends[rows] - self.starts[rows]
        width = max(size, int(-(-lengths.max() // step) * step))  # whole steps: the last window reaches the end
        offsets = self.starts[rows][:, None] + np.arange(width)[None, :]
        valid = np.arange(width)[None, :] < lengths[:, None]
        ids = np.where(valid, self.flat[np.minimum(offsets, max(0, len(self.flat) - 1))], -1)
        present = ids[:, None, :] == term_ids[None, :, None]  # rows x terms x tokens
        counts = np.concatenate([np.zeros(present.shape[:2] + (1,), dtype=np.int32), np.cumsum(present, axis=2)], axis=2)
        starts = np.arange(0, width - size + 1, step)
        inside = (counts[:, :, starts + size] - counts[:, :, starts]) > 0  # rows x terms x windows
        best = np.einsum("rt,rtw->rw", weights, inside.astype(np.float32)).max(axis=1)
        return np.divide(best, total, out=np.zeros_like(best), where=total > 0)

    def top(self, scores: np.ndarray, n: int) -> np.ndarray:
        """Rows of the `n` best positive scores, best first."""
        matched = np.flatnonzero(scores > 0)
        if len(matched) > n:
            matched = matched[np.argpartition(-scores[matched], n - 1)[:n]]
        return matched[np.argsort(-scores[matched], kind="stable")]

    def idf_of(self, term: str) -> float:
        t = self.vocabulary.get(term)
        return float(self.idf[t]) if t is not None else math.log(1 + (self.size + 0.5) / 0.5)
