"""Bring a clone's stored chunks up to the current chunk format, without the user doing anything.

Format 2 embeds and indexes every chunk with its contextual header (document title, section
heading). Documents ingested before carry no `format` in their chunk params. The first search
of such a clone starts a background upgrade (once per clone per process): each stale document
is re-chunked from its stored original (re-extracted, with the new plain-text headings), or,
when the original is missing, its stored chunk texts are re-embedded with their header. The
new rows replace the old ones in ONE LanceDB merge (atomic: a search sees either the old or the
new chunks, an interruption leaves the old ones), then the document row records the format.
Searches keep working on the old chunks meanwhile. Nothing is deleted before its replacement.
"""
from __future__ import annotations

import logging
import threading

import numpy as np
import pyarrow as pa
from sqlmodel import select

from core.knowledge import claims
from core.knowledge.chunk import Chunk, chunk_pages, chunk_params
from core.knowledge.profile import FORMAT, document_profile, embedding_texts
from core.knowledge.store import SCHEMA, _literal, chunk_id
from core.models import Clone, Document, utcnow

log = logging.getLogger(__name__)

_started: set[tuple[int, str]] = set()
_lock = threading.Lock()


def stale_documents(runtime, clone_id: str) -> list[Document]:
    with runtime.session() as session:
        documents = session.exec(select(Document).where(Document.clone_id == clone_id, Document.status == "ready")).all()
    return [d for d in documents if (d.chunk_params or {}).get("format", 1) < FORMAT]


def upgrade_soon(runtime, clone_id: str) -> threading.Thread | None:
    """Start the clone's upgrade in the background if it has stale documents (checked once per process)."""
    key = (id(runtime.base), clone_id)  # a scoped runtime is a new object per call; its base is not
    with _lock:
        if key in _started:
            return None
        _started.add(key)
    if not stale_documents(runtime, clone_id):
        return None
    thread = threading.Thread(target=_upgrade_logged, args=(runtime, clone_id), name=f"upgrade-{clone_id[:8]}",
                              daemon=True)
    thread.start()
    return thread


def _upgrade_logged(runtime, clone_id: str) -> None:
    try:
        upgrade_clone(runtime, clone_id)
    except Exception:  # best effort: the old chunks stay searchable, the next process tries again
        log.warning("Could not upgrade the chunks of clone %s; they stay searchable as they are.", clone_id,
                    exc_info=True)


def upgrade_clone(runtime, clone_id: str) -> int:
    """Upgrade every stale document of the clone now; returns how many were upgraded."""
    from core.knowledge.ingest import stored_file

    with runtime.session() as session:
        clone = session.get(Clone, clone_id)
    if clone is None:
        return 0
    done = 0
    for document in stale_documents(runtime, clone_id):
        path = stored_file(runtime, document)
        if path.exists() and not claims.claim(path):
            continue  # being processed elsewhere right now
        try:
            chunks, params, pages = _rechunk(document, path) if path.exists() else _stored(runtime, document)
            if chunks:
                _replace(runtime, clone, document, chunks, params)
                _record(runtime, document.id, params, len(chunks), pages)
                done += 1
        finally:
            if path.exists():
                claims.release(path)
    if done:
        runtime.store.matrices.drop(clone_id)
        log.info("upgraded %d document(s) of clone %s to chunk format %d", done, clone_id, FORMAT)
    return done


def _rechunk(document: Document, path) -> tuple[list[Chunk], dict, int | None]:
    from core.knowledge.extract import extract_pages

    pages = extract_pages(path, document.kind, document.filename)
    profile = document_profile(pages[0].text if pages else "", document.filename)
    pdf_pages = len(pages) if document.kind == "pdf" else None
    return chunk_pages(pages, document.kind), chunk_params() | profile.as_params(), pdf_pages


def _stored(runtime, document: Document) -> tuple[list[Chunk], dict, int | None]:
    rows = runtime.store.document_chunks(document.id)
    chunks = [Chunk(r["chunk_index"], r["text"], r["page"], r["heading"] or "") for r in rows.to_pylist()]
    first = chunks[0].text if chunks else ""
    profile = document_profile(first, document.filename)
    return chunks, (document.chunk_params or {}) | profile.as_params(), document.pages


def _replace(runtime, clone: Clone, document: Document, chunks: list[Chunk], params: dict) -> None:
    from core.providers.remote import embedder_for

    embedder = embedder_for(runtime, clone.embedding_provider or "minilm")
    texts = embedding_texts(chunks, params["title"])
    vectors = np.concatenate([np.asarray(embedder.embed(texts[i:i + 32]), dtype=np.float32)
                              for i in range(0, len(texts), 32)])
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel(), pa.float32())
    data = pa.table({
        "id": [chunk_id(document.id, c.index) for c in chunks],
        "clone_id": [document.clone_id] * len(chunks),
        "document_id": [document.id] * len(chunks),
        "chunk_index": pa.array([c.index for c in chunks], pa.int32()),
        "text": [c.text for c in chunks],
        "page": pa.array([c.page for c in chunks], pa.int32()),
        "heading": [c.heading for c in chunks],
        "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
    }, schema=SCHEMA)
    with runtime.store._write_lock:
        (runtime.store.table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
         .when_not_matched_by_source_delete(f"document_id = {_literal(document.id)}").execute(data))


def _record(runtime, document_id: str, params: dict, chunk_count: int, pages: int | None) -> None:
    with runtime.session() as session:
        document = session.get(Document, document_id)
        if document is None:  # deleted meanwhile: its chunks go too
            runtime.store.delete_document(document_id)
            return
        document.chunk_params, document.chunk_count, document.updated_at = params, chunk_count, utcnow()
        if pages is not None:
            document.pages = pages
        session.add(document)
        session.commit()
