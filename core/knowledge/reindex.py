"""Switch a clone's embedding model: re-embed every stored chunk, then swap the vectors at once.

A knowledge base remembers the embedder it was built with (`Clone.embedding_provider`);
vectors of two embedders are not comparable, so switching re-embeds the stored chunk texts
(no re-extraction) with progress, writes all new vectors in one LanceDB merge (one atomic
version: searches see either the old or the new index, never a mix) and only then records
the new embedder on the clone. Failures leave the clone exactly as it was.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
from sqlmodel import select

from core.errors import InvalidInput
from core.knowledge.store import DIM, SCHEMA
from core.owners import owned
from core.models import Clone, Document, utcnow
from core.providers import catalog
from core.providers.remote import embedder_for

log = logging.getLogger(__name__)

BATCH = 64
Progress = Callable[[int, int], None]  # (chunks embedded so far, total chunks)


@dataclass(frozen=True)
class ReindexPlan:
    clone_id: str
    current: str
    target: str
    documents: int
    chunks: int
    processing: int  # documents still being ingested: switching waits for them
    estimated_cost_usd: float

    @property
    def needed(self) -> bool:
        return self.current != self.target and self.chunks > 0


def _clone_and_documents(runtime, clone_id: str) -> tuple[Clone, list[Document]]:
    with runtime.session() as session:
        clone = owned(session, Clone, clone_id, "That clone no longer exists; pick another one.")
        documents = list(session.exec(select(Document).where(Document.clone_id == clone_id,
                                                             Document.owner_id == clone.owner_id)).all())
    return clone, documents


def reindex_plan(runtime, clone_id: str, provider: str) -> ReindexPlan:
    """What switching to `provider` would take, for the confirmation the UI asks for."""
    clone, documents = _clone_and_documents(runtime, clone_id)
    chunks = runtime.store.count(clone_id=clone_id)
    model = catalog.default_model(provider, "embedding")
    tokens = sum(d.size for d in documents if d.status == "ready") // 4  # about four characters a token
    return ReindexPlan(
        clone_id=clone_id,
        current=clone.embedding_provider or "minilm",
        target=provider,
        documents=sum(1 for d in documents if d.status == "ready"),
        chunks=chunks,
        processing=sum(1 for d in documents if d.status == "processing"),
        estimated_cost_usd=catalog.cost_usd(provider, model, tokens, 0) if model else 0.0,
    )


def _embed_all(embedder, texts: list[str], progress: Progress | None) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), BATCH):
        parts.append(np.asarray(embedder.embed(texts[start : start + BATCH]), dtype=np.float32))
        if progress:
            progress(min(start + BATCH, len(texts)), len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, DIM), dtype=np.float32)


def _new_rows(clone_id: str, rows: pa.Table, vectors: np.ndarray) -> pa.Table:
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel(), pa.float32())
    return pa.table({
        "id": rows["id"],
        "clone_id": pa.array([clone_id] * rows.num_rows, pa.string()),
        "document_id": rows["document_id"],
        "chunk_index": rows["chunk_index"],
        "text": rows["text"],
        "page": rows["page"],
        "heading": rows["heading"],
        "vector": pa.FixedSizeListArray.from_arrays(flat, DIM),
    }, schema=SCHEMA)


def _record(runtime, clone_id: str, provider: str) -> Clone:
    """The clone now uses `provider`; touching its documents tells every process's vector cache."""
    with runtime.session() as session:
        clone = owned(session, Clone, clone_id, "That clone was deleted while its knowledge was being re-indexed.")
        clone.embedding_provider = provider
        clone.updated_at = utcnow()
        session.add(clone)
        for document in session.exec(select(Document).where(Document.clone_id == clone_id, Document.status == "ready")):
            document.updated_at = utcnow()
            session.add(document)
        session.commit()
        session.refresh(clone)
        return clone


def switch_embedder(runtime, clone_id: str, provider: str, progress: Progress | None = None) -> Clone:
    """Make `provider` the clone's embedder, re-indexing its stored chunks when it has any."""
    embedder = embedder_for(runtime, provider)
    if embedder.dim != DIM:
        raise InvalidInput(
            f"The {provider} embedder makes {embedder.dim}-dimensional vectors but the knowledge store holds {DIM}; "
            "choose another embedder."
        )
    plan = reindex_plan(runtime, clone_id, provider)
    if plan.current == provider:
        return _clone_and_documents(runtime, clone_id)[0]
    if plan.processing:
        raise InvalidInput("Some documents are still being processed; wait until they are ready, then switch the embedder.")
    rows = runtime.store.clone_rows(clone_id) if plan.chunks else None
    if rows is not None and rows.num_rows:
        log.info("re-indexing %d chunks of clone %s from %s to %s", rows.num_rows, clone_id, plan.current, provider)
        vectors = _embed_all(embedder, rows["text"].to_pylist(), progress)
        runtime.store.table.merge_insert("id").when_matched_update_all().execute(_new_rows(clone_id, rows, vectors))
        runtime.store.matrices.drop(clone_id)
    elif progress:
        progress(0, 0)
    return _record(runtime, clone_id, provider)
