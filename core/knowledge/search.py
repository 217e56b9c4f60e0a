"""Hybrid retrieval inside one clone: exact vector search (in memory) and LanceDB full text,
run concurrently and fused with reciprocal rank fusion (RRF).

Source.score is the cosine similarity of the passage to the question, clipped to [0, 1];
the order is the fused rank. Only chunks of the clone's ready documents are returned.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from time import perf_counter

import numpy as np
from sqlalchemy import func, select

from core.errors import InvalidInput, NotFound
from core.knowledge.store import DIM, META, vectors_of
from core.models import Clone, Document
from core.owners import resolve
from core.providers.base import Source
from core.providers.remote import embedder_for

log = logging.getLogger(__name__)

RRF_K = 60
MIN_CANDIDATES = 20
RECENT_QUERIES = 256
_fulltext_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fulltext")
_recent: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_recent_lock = threading.Lock()


@dataclass
class Retrieval:
    sources: list[Source]
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class _Hit:
    row: dict
    cosine: float
    fused: float = 0.0


def _ms(started: float) -> float:
    return round((perf_counter() - started) * 1000, 3)


def _fingerprint(runtime, clone_id: str, owner_id: str | None = None) -> tuple:
    """Changes whenever the set of the clone's ready documents changes (SQL Core: ~0.03 ms)."""
    statement = select(func.count(Document.id), func.max(Document.updated_at), func.sum(Document.chunk_count)).where(
        Document.clone_id == clone_id, Document.owner_id == resolve(runtime, owner_id), Document.status == "ready"
    )
    with runtime.engine.connect() as connection:
        return tuple(connection.execute(statement).one())


def ready_files(runtime, clone_id: str, owner_id: str | None = None) -> dict[str, str]:
    """The owner's ready documents of the clone (id -> file name): only their chunks are ever returned."""
    statement = select(Document.id, Document.filename).where(
        Document.clone_id == clone_id, Document.owner_id == resolve(runtime, owner_id), Document.status == "ready")
    with runtime.engine.connect() as connection:
        return {row.id: row.filename for row in connection.execute(statement)}


def _fulltext(runtime, clone_id: str, query: str, limit: int, ids_only: bool):
    started = perf_counter()
    try:
        rows = runtime.store.fulltext(clone_id, query, limit, ids_only=ids_only)
    except (OSError, RuntimeError, ValueError):
        log.warning("Full-text search failed for %r; using vector search alone.", query, exc_info=True)
        rows = None
    return rows, _ms(started)


def _scored(table, query_vector: np.ndarray, files: dict[str, str]) -> list[_Hit]:
    """Rows with vectors -> hits scored by cosine similarity, only from ready documents."""
    if table is None or not table.num_rows:
        return []
    cosines = vectors_of(table) @ query_vector
    records = table.select(META).to_pylist()
    return [_Hit(record, float(c)) for record, c in zip(records, cosines) if record["document_id"] in files]


def _vector_leg(runtime, clone: Clone, fingerprint: tuple, query_vector: np.ndarray, limit: int):
    """(hits, ready files, matrix): exact search over the clone's cached matrix, or for a clone
    too large for the cache (matrix None), LanceDB's flat scan behind the clone_id prefilter."""
    if not _fits(runtime, fingerprint):
        files = ready_files(runtime, clone.id)
        hits = _scored(runtime.store.nearest(clone.id, query_vector, limit), query_vector, files)
        return sorted(hits, key=lambda hit: -hit.cosine), files, None
    matrix = runtime.store.matrix(clone.id, fingerprint, lambda: ready_files(runtime, clone.id))
    rows, scores = matrix.top(query_vector, limit)
    return [_Hit(r, float(c)) for r, c in zip(matrix.records(rows), scores)], matrix.files, matrix


def _fulltext_leg(table, query_vector: np.ndarray, files: dict[str, str], matrix) -> list[_Hit]:
    """Full-text matches as hits; with a matrix, their text and vectors come from memory."""
    if matrix is None or table is None or not table.num_rows:
        return _scored(table, query_vector, files)
    rows = matrix.rows_of(table["id"].to_pylist())
    return [_Hit(r, float(c)) for r, c in zip(matrix.records(rows), matrix.vectors[rows] @ query_vector)]


def _fits(runtime, fingerprint: tuple) -> bool:
    return (fingerprint[2] or 0) * DIM * 4 <= runtime.store.matrices.budget_bytes


def _fuse(*rankings: list[_Hit]) -> list[_Hit]:
    fused: dict[str, _Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, 1):
            fused.setdefault(hit.row["id"], hit).fused += 1.0 / (RRF_K + rank)
    return sorted(fused.values(), key=lambda hit: (-hit.fused, -hit.cosine))


def _source(n: int, hit: _Hit, files: dict[str, str]) -> Source:
    row = hit.row
    return Source(
        n=n, document=files[row["document_id"]], page=row["page"], text=row["text"],
        score=min(1.0, max(0.0, hit.cosine)), chunk_id=row["id"], document_id=row["document_id"],
        heading=row["heading"] or "",
    )


def _timed(timings: dict, key: str, fn, *args):
    started = perf_counter()
    result = fn(*args)
    timings[key] = _ms(started)
    return result


def _query_vector(runtime, clone: Clone, query: str) -> np.ndarray:
    """The query's vector; recent ones are remembered (Streamlit reruns a page's search on every
    interaction, and A/B runs and regenerated answers repeat questions)."""
    provider = clone.embedding_provider or "minilm"
    key = (provider, query)
    with _recent_lock:
        vector = _recent.get(key)
        if vector is not None:
            _recent.move_to_end(key)
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


def retrieve(runtime, clone: Clone, query: str, k: int | None = None, hybrid: bool | None = None,
             owner_id: str | None = None) -> Retrieval:
    """The clone's best passages for `query` (top_k / hybrid / min_score from the clone unless given),
    for the owner (the runtime's unless given): another owner's clone is not found."""
    owner_id = resolve(runtime, owner_id)
    if clone.owner_id != owner_id:
        raise NotFound("That clone no longer exists; pick another one from the gallery.")
    started = perf_counter()
    k = max(1, int(k or clone.top_k or 5))
    hybrid = clone.hybrid if hybrid is None else hybrid
    query = " ".join((query or "").split())
    timings = dict.fromkeys(("embed", "vector", "fulltext", "fuse", "total"), 0.0)
    if not query:
        return Retrieval([], timings)
    candidates = max(4 * k, MIN_CANDIDATES)
    fingerprint = _fingerprint(runtime, clone.id, owner_id)
    pending = None
    if hybrid:
        ids_only = _fits(runtime, fingerprint)
        pending = _fulltext_pool.submit(_fulltext, runtime, clone.id, query, candidates, ids_only)
    query_vector = _timed(timings, "embed", _query_vector, runtime, clone, query)
    vector_hits, files, matrix = _timed(timings, "vector", _vector_leg, runtime.scoped(owner_id), clone, fingerprint,
                                        query_vector, candidates)
    ranked = vector_hits
    if pending is not None:
        table, timings["fulltext"] = pending.result()
        ranked = _timed(timings, "fuse", lambda: _fuse(vector_hits, _fulltext_leg(table, query_vector, files, matrix)))
    if clone.min_score:
        ranked = [hit for hit in ranked if hit.cosine >= clone.min_score]
    sources = [_source(n, hit, files) for n, hit in enumerate(ranked[:k], 1)]
    timings["total"] = _ms(started)
    return Retrieval(sources, timings)
