"""Hybrid retrieval inside one clone: exact vector search and BM25, both in memory, fused with
reciprocal rank fusion (RRF), then reranked with document-level signals (core.knowledge.rerank).

Each chunk is searched with its contextual header (document title and section heading) in
both legs: its vector was embedded from header + text, and the BM25 index holds header +
text. A clone too large for the in-memory cache falls back to LanceDB (its vector index and
its full-text index). Source.score is the cosine similarity of the passage to the question,
clipped to [0, 1]; the order is the rerank order. Only chunks of ready documents are returned.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from time import perf_counter

import numpy as np
from sqlalchemy import bindparam, func, select

from core.errors import InvalidInput, NotFound
from core.knowledge.answer_types import asked, holds
from core.knowledge.bm25 import BM25, tokens
from core.knowledge.profile import context_header
from core.knowledge.rerank import ANSWER_POOL, CANDIDATES, W_DOC, Candidate, lift_answers, rerank
from core.knowledge.signals import DocumentSignal, heading_match, identity
from core.knowledge.store import DIM, META, chunk_id, vectors_of
from core.models import Clone, Document
from core.owners import resolve
from core.providers.base import Source
from core.providers.remote import embedder_for

log = logging.getLogger(__name__)

RRF_K = 60
RECENT_QUERIES = 256
_text_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="text-side")
_recent: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_recent_lock = threading.Lock()
_index_lock = threading.Lock()


@dataclass
class Retrieval:
    sources: list[Source]
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class TextIndex:
    """What the matrix's rows need beyond vectors: BM25 over header + text, document identities."""

    bm25: BM25
    signal: DocumentSignal
    titles: dict[str, str]
    built_ms: float


def _ms(started: float) -> float:
    return round((perf_counter() - started) * 1000, 3)


# Built once: SQLAlchemy then reuses its compiled form, so a search pays only for the query itself.
_FINGERPRINT = select(func.count(Document.id), func.max(Document.updated_at), func.sum(Document.chunk_count)).where(
    Document.clone_id == bindparam("clone_id"), Document.owner_id == bindparam("owner_id"), Document.status == "ready")


def _fingerprint(runtime, clone_id: str, owner_id: str | None = None) -> tuple:
    """Changes whenever the set of the clone's ready documents changes."""
    with runtime.engine.connect() as connection:
        return tuple(connection.execute(_FINGERPRINT, {"clone_id": clone_id,
                                                       "owner_id": resolve(runtime, owner_id)}).one())


def ready_files(runtime, clone_id: str, owner_id: str | None = None) -> dict[str, str]:
    """The owner's ready documents of the clone (id -> file name): only their chunks are ever returned."""
    statement = select(Document.id, Document.filename).where(
        Document.clone_id == clone_id, Document.owner_id == resolve(runtime, owner_id), Document.status == "ready")
    with runtime.engine.connect() as connection:
        return {row.id: row.filename for row in connection.execute(statement)}


def document_params(runtime, clone_id: str) -> dict[str, tuple[str, dict]]:
    """Ready document id -> (file name, chunk params: format, title, header fields)."""
    statement = select(Document.id, Document.filename, Document.chunk_params).where(
        Document.clone_id == clone_id, Document.status == "ready")
    with runtime.engine.connect() as connection:
        return {row.id: (row.filename, row.chunk_params or {}) for row in connection.execute(statement)}


def _signal(params: dict[str, tuple[str, dict]]) -> tuple[DocumentSignal, dict[str, str]]:
    identities = {doc: identity(name, p) for doc, (name, p) in params.items()}
    return DocumentSignal(identities), {doc: ident.title for doc, ident in identities.items()}


SYNC_INDEX_ROWS = 20_000  # larger clones build their BM25 index in the background (LanceDB full text meanwhile)


def _build_index(runtime, clone_id: str, matrix) -> TextIndex:
    started = perf_counter()
    signal, titles = _signal(document_params(runtime, clone_id))
    meta = matrix.meta
    headers: dict[tuple, tuple[str, int]] = {}
    texts, header_tokens = [], []
    for d, h, t in zip(meta["document_id"].to_pylist(), meta["heading"].to_pylist(), meta["text"].to_pylist()):
        header = headers.get((d, h))
        if header is None:
            line = context_header(titles.get(d, ""), h or "")
            header = headers[(d, h)] = (line, len(tokens(line)))
        texts.append(f"{header[0]}\n{t}")
        header_tokens.append(header[1])
    index = TextIndex(BM25(texts, header_tokens), signal, titles, 0.0)
    index.built_ms = _ms(started)
    return index


def _build_in_background(runtime, clone_id: str, matrix) -> None:
    try:
        index = _build_index(runtime, clone_id, matrix)
        with _index_lock:
            matrix.text_index = index
    except Exception:  # the LanceDB full-text leg keeps serving
        log.warning("Could not build the in-memory full-text index of clone %s.", clone_id, exc_info=True)


def text_index(runtime, clone_id: str, matrix) -> TextIndex | None:
    """The matrix's BM25 index and document signals, built once per matrix (the matrix, and so
    the index, is rebuilt whenever the clone's documents change). For a large clone the first
    call starts the build in the background and returns None until it is ready."""
    index = getattr(matrix, "text_index", None)
    if index is not None:
        return index
    if len(matrix.meta) > SYNC_INDEX_ROWS:
        with _index_lock:
            if not getattr(matrix, "index_building", False):
                matrix.index_building = True
                threading.Thread(target=_build_in_background, args=(runtime, clone_id, matrix), daemon=True,
                                 name=f"bm25-{clone_id[:8]}").start()
        return None
    with _index_lock:
        index = getattr(matrix, "text_index", None)
        if index is None:
            index = matrix.text_index = _build_index(runtime, clone_id, matrix)
    return index


def _fulltext(runtime, clone_id: str, query: str, limit: int, ids_only: bool = False):
    started = perf_counter()
    try:
        rows = runtime.store.fulltext(clone_id, query, limit, ids_only=ids_only)
    except (OSError, RuntimeError, ValueError):
        log.warning("Full-text search failed for %r; using vector search alone.", query, exc_info=True)
        rows = None
    return rows, _ms(started)


def _fits(runtime, fingerprint: tuple) -> bool:
    return (fingerprint[2] or 0) * DIM * 4 <= runtime.store.matrices.budget_bytes


def _rrf(candidates: dict[str, Candidate]) -> None:
    for c in candidates.values():
        c.fused = sum(1.0 / (RRF_K + rank) for rank in (c.vector_rank, c.text_rank) if rank)


@dataclass
class _CachedLeg:
    """The in-memory full-text leg of a clone that fits the cache, found before the query's vector."""

    matrix: object
    index: TextIndex
    lexical: Lexical | None
    by_row: dict[int, Candidate]
    text_rows: list[int]
    scores: np.ndarray | None
    depth: int  # candidates taken from each leg

    def candidates(self, query_vector: np.ndarray, timings: dict):
        """(candidates by chunk id, files, titles, texts): the vector leg's joined to the text leg's;
        only the vector leg's new candidates still need their lexical features."""
        matrix, by_row = self.matrix, self.by_row
        started = perf_counter()
        rows, _ = matrix.top(query_vector, self.depth)
        timings["vector"] = _ms(started)
        started = perf_counter()
        fresh = _new_candidates(matrix, [r for r in rows.tolist() if r not in by_row], self.scores)
        by_row.update(fresh)
        for rank, row in enumerate(rows.tolist(), 1):
            by_row[row].vector_rank = rank
        order = list(dict.fromkeys([*rows.tolist(), *self.text_rows]))  # the vector leg's first, as ties fall
        cosines = matrix.vectors[np.asarray(order, dtype=np.int64)] @ query_vector if order else np.empty(0)
        for row, cosine in zip(order, cosines.tolist()):
            by_row[row].cosine = cosine
        candidates = {by_row[row].row["id"]: by_row[row] for row in order}
        timings["fuse"] = _ms(started)
        _describe(self.lexical, fresh.values(), timings)
        return candidates, matrix.files, self.index.titles, matrix.texts

    def chunks(self, ids: list[str]) -> list[dict]:
        """The given chunks that the clone holds, in order, with their text."""
        rows = self.matrix.rows_of(ids).tolist()
        return [{**record, "text": text}
                for record, text in zip(self.matrix.brief_records(rows), self.matrix.texts(rows))]


def _cached_text_leg(runtime, clone: Clone, fingerprint, query: str, hybrid: bool, use_rerank: bool,
                     depth: int, timings: dict) -> _CachedLeg:
    """The clone's in-memory BM25 leg, its candidates with their lexical features."""
    started = perf_counter()
    matrix = runtime.store.matrix(clone.id, fingerprint, lambda: ready_files(runtime, clone.id))
    index = text_index(runtime, clone.id, matrix)
    text_rows = np.empty(0, dtype=np.int64)
    scores = None
    terms = index.bm25.resolve(tokens(query)) if index is not None else tokens(query)
    if hybrid and index is not None:
        scores = index.bm25.scores(terms)
        text_rows = index.bm25.top(scores, depth)
    elif hybrid:  # index still building: LanceDB's full-text index answers meanwhile
        table, _ = _fulltext(runtime, clone.id, query, depth, ids_only=True)
        text_rows = matrix.rows_of(table["id"].to_pylist()) if table is not None else text_rows
        lance = table["_score"].to_pylist() if table is not None else []
        scores = np.zeros(len(matrix.meta), dtype=np.float32)
        scores[text_rows] = np.asarray(lance[:len(text_rows)], dtype=np.float32)
    if index is None:
        signal, titles = _signal(document_params(runtime, clone.id))
        index = TextIndex(None, signal, titles, 0.0)
    timings["fulltext"] = _ms(started) if hybrid else 0.0
    lexical = Lexical(terms, index.signal, index.bm25) if use_rerank else None
    by_row = _new_candidates(matrix, text_rows.tolist(), scores)
    for rank, row in enumerate(text_rows.tolist(), 1):
        by_row[row].text_rank = rank
    _describe(lexical, by_row.values(), timings)
    return _CachedLeg(matrix, index, lexical, by_row, text_rows.tolist(), scores, depth)


def _fetch_texts(candidates: list[Candidate], texts) -> None:
    """Cached rows carry no text until it is needed (by the passages returned, or the answer kind)."""
    missing = [c for c in candidates if "text" not in c.row] if texts is not None else []
    for c, text in zip(missing, texts([c.index_row for c in missing]) if missing else []):
        c.row["text"] = text


def _new_candidates(matrix, rows: list[int], scores) -> dict[int, Candidate]:
    """Candidates of matrix rows by row; their cosine comes once the query vector is known."""
    return {row: Candidate(record, 0.0, float(scores[row]) if scores is not None else 0.0, index_row=row)
            for record, row in zip(matrix.brief_records(rows), rows)}


def _describe(lexical: Lexical | None, candidates, timings: dict) -> None:
    """The candidates' lexical features when the rerank runs (timed as part of the rerank)."""
    candidates = list(candidates)
    if lexical is not None and candidates:
        started = perf_counter()
        lexical.describe(candidates)
        timings["rerank"] += _ms(started)


def _scored_rows(table, query_vector) -> list[tuple[dict, float, float]]:
    if table is None or not table.num_rows:
        return []
    cosines = vectors_of(table) @ query_vector
    text = table["_score"].to_pylist() if "_score" in table.column_names else [0.0] * table.num_rows
    return list(zip(table.select(META).to_pylist(), cosines.tolist(), text))


@dataclass
class _LanceLeg:
    """LanceDB's full-text leg of a clone too large for the cache, found before the query's vector."""

    runtime: object
    clone: Clone
    query: str
    use_rerank: bool
    params: dict[str, tuple[str, dict]]
    table: object  # LanceDB's full-text hits, None without the hybrid leg or when it failed
    depth: int

    def candidates(self, query_vector: np.ndarray, timings: dict):
        files = {doc: name for doc, (name, _) in self.params.items()}
        started = perf_counter()
        nearest = self.runtime.store.nearest(self.clone.id, query_vector, self.depth)
        vector_hits = [h for h in _scored_rows(nearest, query_vector) if h[0]["document_id"] in files]
        vector_hits.sort(key=lambda h: -h[1])
        timings["vector"] = _ms(started)
        text_hits = [h for h in _scored_rows(self.table, query_vector) if h[0]["document_id"] in files]
        candidates: dict[str, Candidate] = {}
        for rank, (record, cosine, _) in enumerate(vector_hits, 1):
            candidates[record["id"]] = Candidate(record, float(cosine), vector_rank=rank)
        for rank, (record, cosine, score) in enumerate(text_hits, 1):
            c = candidates.setdefault(record["id"], Candidate(record, float(cosine)))
            c.text_rank, c.text_score = rank, float(score)
        signal, titles = _signal(self.params)
        _describe(Lexical(tokens(self.query), signal, None) if self.use_rerank else None, candidates.values(), timings)
        return candidates, files, titles, None

    def chunks(self, ids: list[str]) -> list[dict]:
        """The given chunks that the clone holds, in order, with their text."""
        found = {row["id"]: row for row in self.runtime.store.chunks(self.clone.id, ids).to_pylist()}
        return [found[i] for i in ids if i in found]


def _lance_text_leg(runtime, clone: Clone, query: str, hybrid: bool, use_rerank: bool, depth: int,
                    timings: dict) -> _LanceLeg:
    """LanceDB's full-text leg for a clone too large for the cache."""
    table = None
    if hybrid:
        table, timings["fulltext"] = _fulltext(runtime, clone.id, query, depth)
    return _LanceLeg(runtime, clone, query, use_rerank, document_params(runtime, clone.id), table, depth)


def _text_side(runtime, clone: Clone, query: str, hybrid: bool, use_rerank: bool, depth: int, timings: dict):
    """Every step that does not need the query's vector: the clone's fingerprint and the full-text leg."""
    started = perf_counter()
    fingerprint = _fingerprint(runtime, clone.id)
    timings["prepare"] = _ms(started)
    if _fits(runtime, fingerprint):
        return _cached_text_leg(runtime, clone, fingerprint, query, hybrid, use_rerank, depth, timings)
    return _lance_text_leg(runtime, clone, query, hybrid, use_rerank, depth, timings)


MERGE_CHUNKS = 3  # a passage joins at most this many neighbouring chunks


def _neighbours(group: list[Candidate], row: dict) -> bool:
    first, last = group[0].row, group[-1].row
    same = (first["document_id"] == row["document_id"] and first["page"] == row["page"]
            and (first["heading"] or "") == (row["heading"] or ""))
    return same and len(group) < MERGE_CHUNKS and row["chunk_index"] in (first["chunk_index"] - 1, last["chunk_index"] + 1)


def passages(ranked: list[Candidate], k: int) -> list[list[Candidate]]:
    """The best `k` passages: a candidate next to a better one of the same section (and page) joins
    its passage instead of taking a place of its own, so an answer that runs across a chunk
    boundary is returned whole and the places left go to other candidates. Each passage lists its
    chunks best first."""
    groups: list[list[Candidate]] = []
    for c in ranked:
        group = next((g for g in groups if _neighbours(sorted(g, key=_index), c.row)), None)
        if group is not None:
            group.append(c)
        elif len(groups) < k:
            groups.append([c])
        else:
            break
    return groups


def widen(best: list[Candidate], taken: set[str], chunks) -> None:
    """The best passage takes in the chunks on either side of it in its section (same page), up to
    MERGE_CHUNKS, though they were not candidates: the sentence that answers often sits in the chunk
    next to the one that matched ("is reinstated provisionally" just above the chunk of a licence's
    termination section that ranked first for "can I get my licence back?"). `chunks(ids)` reads
    chunks by id; `taken` are the ids in other passages, which are left where they are."""
    span = sorted(best, key=_index)
    first, last = span[0].row, span[-1].row
    ids = [chunk_id(first["document_id"], first["chunk_index"] - 1), chunk_id(last["document_id"], last["chunk_index"] + 1)]
    for record in chunks([i for i in ids if i not in taken]):
        if _neighbours(sorted(best, key=_index), record):
            best.append(Candidate(record, 0.0))


def _index(c: Candidate) -> int:
    return c.row["chunk_index"]


def stitch(texts: list[str]) -> str:
    """Consecutive chunks' texts as one, without the overlap each chunk repeats from the one before."""
    text = texts[0]
    for following in texts[1:]:
        shared = _overlap(text, following)
        text = text + following[shared:] if shared else f"{text}\n\n{following}"
    return text


def _overlap(text: str, following: str, limit: int = 600, least: int = 8) -> int:
    """Length of the longest end of `text` (up to `limit` characters, at least `least`) that
    `following` begins with: tried only where `following`'s first characters occur."""
    tail = text[-limit:]
    probe = following[:least]
    at = tail.find(probe) if len(probe) == least else -1
    while at >= 0:
        if following.startswith(tail[at:]):
            return len(tail) - at
        at = tail.find(probe, at + 1)
    return 0


def _source(n: int, group: list[Candidate], files: dict[str, str], titles: dict[str, str]) -> Source:
    c = group[0]
    row = c.row
    text = stitch([m.row["text"] for m in sorted(group, key=_index)]) if len(group) > 1 else row["text"]
    return Source(
        n=n, document=files[row["document_id"]], page=row["page"], text=text,
        score=min(1.0, max(0.0, c.cosine)), chunk_id=row["id"], document_id=row["document_id"],
        heading=row["heading"] or "", title=titles.get(row["document_id"], ""), vector_rank=c.vector_rank,
        text_rank=c.text_rank, fused=round(c.fused, 6), rerank=round(c.rerank, 4),
        named=round(W_DOC * c.document, 4),
    )


def _timed_query_vector(runtime, clone: Clone, query: str) -> tuple[np.ndarray, float]:
    started = perf_counter()
    return _query_vector(runtime, clone, query), _ms(started)


def _remembered(key: tuple[str, str]) -> np.ndarray | None:
    with _recent_lock:
        vector = _recent.get(key)
        if vector is not None:
            _recent.move_to_end(key)
        return vector


def _query_vector(runtime, clone: Clone, query: str) -> np.ndarray:
    """The query's vector, computed once per question; recent ones are remembered (Streamlit
    reruns a page's search on every interaction, and A/B runs and regenerated answers repeat)."""
    provider = clone.embedding_provider or "minilm"
    key = (provider, query)
    vector = _remembered(key)
    if vector is not None:
        return vector
    vector = np.asarray(embedder_for(runtime, provider).embed_query(query), dtype=np.float32)
    if vector.shape != (DIM,):
        raise InvalidInput(f"The clone's embedder makes {vector.shape[-1]}-dimensional vectors but its knowledge "
                           f"holds {DIM}; switch it back to the offline MiniLM embedder.")
    vector.flags.writeable = False
    with _recent_lock:
        _recent[key] = vector
        while len(_recent) > RECENT_QUERIES:
            _recent.popitem(last=False)
    return vector


def retrieve(runtime, clone: Clone, query: str, k: int | None = None, hybrid: bool | None = None, *,
             use_rerank: bool = True, merge: bool = True, owner_id: str | None = None) -> Retrieval:
    """The clone's best passages for `query` (top_k / hybrid / min_score from the clone unless given),
    for the owner (the runtime's unless given): another owner's clone is not found. `merge=False`
    returns single chunks (neighbouring chunks of a section are otherwise one passage)."""
    owner_id = resolve(runtime, owner_id)
    if clone.owner_id != owner_id:
        raise NotFound("That clone no longer exists; pick another one from the gallery.")
    runtime = runtime.scoped(owner_id)
    started = perf_counter()
    k = max(1, int(k or clone.top_k or 5))
    hybrid = clone.hybrid if hybrid is None else hybrid
    query = " ".join((query or "").split())
    timings = dict.fromkeys(("prepare", "embed", "vector", "fulltext", "fuse", "rerank", "passages", "total"), 0.0)
    if not query:
        return Retrieval([], timings)
    from core.knowledge.upgrade import upgrade_soon

    upgrade_soon(runtime, clone.id)
    depth = max(CANDIDATES, k)  # each leg's candidates: enough for k passages
    text_side = partial(_text_side, runtime, clone, query, hybrid, use_rerank, depth, timings)
    query_vector = _remembered((clone.embedding_provider or "minilm", query))
    if query_vector is None:  # a new question: embedded here while a helper thread runs the text side
        pending = _text_pool.submit(text_side)
        query_vector, timings["embed"] = _timed_query_vector(runtime, clone, query)
        leg = pending.result()
    else:
        leg = text_side()
    candidates, files, titles, texts = leg.candidates(query_vector, timings)
    started_rerank = perf_counter()
    _rrf(candidates)
    listed = list(candidates.values())
    ranked = rerank(listed) if use_rerank else sorted(listed, key=lambda c: (-c.fused, -c.cosine))
    kinds = asked(query) if use_rerank else []
    if kinds and ranked:
        best = ranked[:ANSWER_POOL]
        _fetch_texts(best, texts)
        ranked = lift_answers(ranked, [holds(c.row["text"], kinds) for c in best])
    timings["rerank"] += _ms(started_rerank)
    started_passages = perf_counter()
    if clone.min_score:
        ranked = [c for c in ranked if c.cosine >= clone.min_score]
    groups = passages(ranked, k) if merge else [[c] for c in ranked[:k]]
    if merge and groups:
        widen(groups[0], {c.row["id"] for group in groups for c in group}, leg.chunks)
    _fetch_texts([c for group in groups for c in group], texts)
    sources = [_source(n, group, files, titles) for n, group in enumerate(groups, 1)]
    timings["passages"] = _ms(started_passages)
    timings["total"] = _ms(started)
    return Retrieval(sources, timings)


class Lexical:
    """The query's lexical features of candidates for the rerank: the document signal, the heading
    match and the proximity window, over the query's index terms
    (`BM25.resolve`d, so spelling variants match). Each candidate is described once, whenever it
    turns up: the full-text leg's while the query is embedded, the vector leg's new ones after."""

    def __init__(self, terms: list[str], signal: DocumentSignal, bm25: BM25 | None):
        self.terms, self.signal, self.bm25 = terms, signal, bm25
        self.idf = bm25.idf_of if bm25 is not None else (lambda term: 1.0)
        self.documents = signal.match(terms)
        self.headings: dict[str, float] = {}

    def describe(self, candidates: list[Candidate]) -> None:
        for c in candidates:
            c.document = self.documents.get(c.row["document_id"], 0.0)
            heading = c.row["heading"] or ""
            if heading not in self.headings:
                self.headings[heading] = heading_match(self.terms, heading, self.idf)
            c.heading = self.headings[heading]
        indexed = [c for c in candidates if c.index_row is not None]
        if self.bm25 is not None and indexed:
            for c, share in zip(indexed, _windows(self.bm25, self.terms, self.signal, indexed)):
                c.window = float(share)


def _windows(bm25: BM25, terms: list[str], signal: DocumentSignal, candidates: list[Candidate]) -> np.ndarray:
    """Each candidate's proximity window over the query's terms beyond its document's own name
    (identity): once the document is known, those terms say which of its passages answers. Terms
    the index lacks count as unmatched weight."""
    unique = list(dict.fromkeys(terms))
    known = [t for t in unique if t in bm25.vocabulary]
    ids = np.asarray([bm25.vocabulary[t] for t in known], dtype=np.int32)
    idf = bm25.idf[ids] if len(ids) else np.empty(0, dtype=np.float32)
    unknown = [(t, bm25.idf_of(t)) for t in unique if t not in bm25.vocabulary]
    per_document: dict[str, tuple[np.ndarray, float]] = {}
    weights, missing = [], []
    for c in candidates:
        doc = c.row["document_id"]
        if doc not in per_document:
            ident = signal.identities.get(doc)
            named = ident.terms if ident is not None else frozenset()
            mask = np.asarray([t not in named for t in known], dtype=np.float32)
            per_document[doc] = (idf * mask, sum(w for t, w in unknown if t not in named))
        weights.append(per_document[doc][0])
        missing.append(per_document[doc][1])
    rows = np.asarray([c.index_row for c in candidates], dtype=np.int64)
    return bm25.best_windows(rows, ids, np.asarray(weights, dtype=np.float32).reshape(len(candidates), len(ids)),
                             np.asarray(missing, dtype=np.float32))
