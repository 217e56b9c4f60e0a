"""Document-level ranking signals, from the documents' own structure only.

A document's identity is its title, its file name and the short values of its header fields
(status, version, dates, what it replaces or is replaced by). A query that names a document
(its title words, its number, its version) matches one identity better than its siblings'.
Each matched term counts by how rare it is among the clone's identities (a word every title
shares says nothing), so near-duplicates that differ in one number or one status word are
told apart by that word. Section headings get the same treatment per chunk.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import PurePath

from core.knowledge.bm25 import tokens

_SPLIT_NAME = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class Identity:
    title: str
    terms: frozenset


def identity(filename: str, params: dict | None) -> Identity:
    params = params or {}
    title = params.get("title") or PurePath(filename).stem
    fields = params.get("fields") or {}
    name = " ".join(_SPLIT_NAME.split(PurePath(filename).stem))
    text = " ".join([title, name, *(str(v) for k, v in fields.items() if k.lower() not in ("author", "sponsor"))])
    return Identity(title, frozenset(tokens(text)))


class DocumentSignal:
    """match(query) -> {document_id: share of the query's identifying weight it matches, 0..1}."""

    def __init__(self, identities: dict[str, Identity]):
        self.identities = identities
        n = len(identities)
        df: dict[str, int] = {}
        for ident in identities.values():
            for term in ident.terms:
                df[term] = df.get(term, 0) + 1
        # rare among identities -> telling; a term in every identity weighs 0
        self.weight = {t: math.log(n / c) for t, c in df.items()} if n > 1 else {}

    def match(self, query_terms: list[str]) -> dict[str, float]:
        weights = {t: self.weight.get(t, 0.0) for t in dict.fromkeys(query_terms)}
        total = sum(weights.values())
        if total <= 0:
            return {}
        return {doc: sum(w for t, w in weights.items() if t in ident.terms) / total
                for doc, ident in self.identities.items()}


def heading_match(query_terms: list[str], heading: str, idf) -> float:
    """Share of the query's idf weight that the section heading holds."""
    unique = list(dict.fromkeys(query_terms))
    total = sum(idf(t) for t in unique)
    if not heading or total <= 0:
        return 0.0
    words = set(tokens(heading))
    return sum(idf(t) for t in unique if t in words) / total
