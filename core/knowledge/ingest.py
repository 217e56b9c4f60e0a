"""Knowledge ingestion: validate → store the bytes → Document(processing) → background worker →
extract → chunk → embed → one write → ready (or failed with a plain reason).

A failure removes that document's chunks and marks it failed; nothing else is touched.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from pathlib import Path

import numpy as np
from sqlalchemy import delete
from sqlmodel import select

from core.errors import IngestError, NotFound, StudioError
from core.knowledge import claims
from core.knowledge.chunk import chunk_pages, chunk_params
from core.knowledge.profile import document_profile, embedding_texts
from core.knowledge.extract import EXTENSIONS, clean_filename, decode_text, detect_kind, extract_pages, normalise
from core.knowledge import DIM
from core.models import Clone, Document, utcnow
from core.owners import owner_of, resolve
from core.providers.remote import embedder_for

log = logging.getLogger(__name__)

EMBED_BATCH = 32
_register_lock = threading.Lock()


class Interrupted(Exception):
    """The worker is shutting down; the document stays in processing and is resumed later."""


def stored_file(runtime, document: Document) -> Path:
    """Where the original bytes live: files_dir/<clone_id>/<document_id>.<ext>."""
    return runtime.settings.files_dir / document.clone_id / f"{document.id}.{EXTENSIONS[document.kind]}"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)


def _replace_twins(runtime, clone_id: str, name: str, digest: str) -> None:
    """Before a file is added: the same bytes already ready, or being processed by live work,
    refuse it; a failed copy, or one a crash left in processing (its claim is free), makes way."""
    with runtime.session() as session:
        twins = session.exec(select(Document).where(Document.clone_id == clone_id, Document.owner_id == owner_of(session),
                                                    Document.sha256 == digest)).all()
    for twin in twins:
        if twin.status == "ready":
            raise IngestError(f'"{name}" is already in the knowledge base as "{twin.filename}".')
        path = stored_file(runtime, twin)
        if twin.status == "processing" and not claims.claim(path):
            raise IngestError(f'"{name}" is already being added as "{twin.filename}"; wait until it is ready.')
        try:
            delete_document(runtime, twin.id)
        finally:
            claims.release(path)


def _register(runtime, clone_id: str, name: str, kind: str, data: bytes) -> Document:
    """Refuse a duplicate, claim the document for this process, store the bytes, insert the row.

    The claim comes first, so start-up recovery elsewhere never mistakes bytes being written
    (or a row about to be saved) for the leftovers of a crash.
    """
    digest = hashlib.sha256(data).hexdigest()
    with _register_lock:
        with runtime.session() as session:
            clone = session.get(Clone, clone_id)
            if clone is None or clone.owner_id != owner_of(session):
                raise NotFound("This clone no longer exists; pick another clone and try again.")
        _replace_twins(runtime, clone_id, name, digest)
        with runtime.session() as session:
            clone = session.get(Clone, clone_id)
            if clone is None:
                raise NotFound("This clone no longer exists; pick another clone and try again.")
            document = Document(owner_id=clone.owner_id, clone_id=clone_id, filename=name, kind=kind, size=len(data),
                                sha256=digest, status="processing", chunk_params=chunk_params())
            path = stored_file(runtime, document)
            path.parent.mkdir(parents=True, exist_ok=True)
            claims.claim(path)
            try:
                _write_atomic(path, data)
                session.add(document)
                session.commit()
            except BaseException:
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".part").unlink(missing_ok=True)
                claims.release(path)
                raise
            return document


def _validated(runtime, filename: str, data: bytes) -> tuple[str, str]:
    name = clean_filename(filename)
    kind = detect_kind(name, data, runtime.settings.max_upload_bytes)
    if kind != "pdf" and not decode_text(name, data).strip():
        raise IngestError(f'"{name}" is empty; choose a file that contains some text.')
    return name, kind


def add_file(runtime, clone_id: str, filename: str, data: bytes) -> Document:
    """Accept an upload and queue it; a refusal raises IngestError with the reason."""
    document = _register(runtime, clone_id, *_validated(runtime, filename, data), data)
    runtime.worker.submit(document.id)
    return document


def _pasted(runtime, title: str, text: str) -> tuple[str, bytes]:
    name = clean_filename(title) if (title or "").strip() else "Pasted text"
    text = normalise(text or "").strip()
    if not text:
        raise IngestError("The pasted text is empty; paste some text and try again.")
    data = text.encode("utf-8")
    if len(data) > runtime.settings.max_upload_bytes:
        raise IngestError(f"The pasted text is over the {runtime.settings.max_upload_mb} MB limit; split it into smaller parts.")
    return name, data


def add_text(runtime, clone_id: str, title: str, text: str) -> Document:
    """Pasted text (read as Markdown, so '# headings' count), queued like a file."""
    name, data = _pasted(runtime, title, text)
    document = _register(runtime, clone_id, name, "markdown", data)
    runtime.worker.submit(document.id)
    return document


def ingest_now(runtime, clone_id: str, filename: str, data: bytes) -> Document:
    """Add and process synchronously (CLI, demo, tests); refusals raise IngestError."""
    document = _register(runtime, clone_id, *_validated(runtime, filename, data), data)
    return process_document(runtime, document.id)


def _update(runtime, document_id: str, **fields) -> Document | None:
    with runtime.session() as session:
        document = session.get(Document, document_id)
        if document is None:
            return None
        for name, value in fields.items():
            setattr(document, name, value)
        document.updated_at = utcnow()
        session.add(document)
        session.commit()
        session.refresh(document)
        return document


def _embed(runtime, clone: Clone, texts: list[str], stop: threading.Event | None) -> np.ndarray:
    embedder = embedder_for(runtime, clone.embedding_provider or "minilm")
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        if stop is not None and stop.is_set():
            raise Interrupted
        parts.append(np.asarray(embedder.embed(texts[start : start + EMBED_BATCH]), dtype=np.float32))
    vectors = np.concatenate(parts)
    if vectors.shape[1] != DIM:
        raise IngestError(f"The clone's embedder makes {vectors.shape[1]}-dimensional vectors but the knowledge base "
                          f"stores {DIM}; switch the clone back to the offline MiniLM embedder and upload again.")
    return vectors


def _refresh_indexes(runtime) -> None:
    try:
        runtime.store.optimize()
    except Exception:  # best effort: unindexed rows are still searched, the next refresh folds them in
        log.warning("Could not fold new chunks into the indexes; they stay searchable unindexed.", exc_info=True)


def _index(runtime, document: Document, clone: Clone, path: Path, stop: threading.Event | None) -> Document:
    pages = extract_pages(path, document.kind, document.filename)
    chunks = chunk_pages(pages, document.kind)
    profile = document_profile(pages[0].text if pages else "", document.filename)
    if not chunks:
        raise IngestError(f'"{document.filename}" has no text to index; check the file and upload it again.')
    vectors = _embed(runtime, clone, embedding_texts(chunks, profile.title), stop)
    if stop is not None and stop.is_set():
        raise Interrupted
    runtime.store.delete_document(document.id)
    runtime.store.add_document(document.clone_id, document.id, chunks, vectors)
    _refresh_indexes(runtime)
    done = _update(runtime, document.id, status="ready", error=None, chunk_count=len(chunks),
                   pages=len(pages) if document.kind == "pdf" else None,
                   chunk_params=chunk_params() | profile.as_params())
    if done is None:  # deleted while it was being processed
        runtime.store.delete_document(document.id)
        return document
    return done


def _fail(runtime, document: Document, reason: str) -> Document:
    try:
        runtime.store.delete_document(document.id)
    except (OSError, RuntimeError, ValueError):
        log.exception("Could not remove the chunks of failed document %s", document.id)
    return _update(runtime, document.id, status="failed", error=reason, chunk_count=0) or document


def process_document(runtime, document_id: str, stop: threading.Event | None = None) -> Document:
    """Process one document synchronously; it ends ready or failed (with a plain reason).

    Returns it unchanged when it is not processing, when live work elsewhere holds it, or
    (still processing, resumed at the next start) when `stop` is set midway.
    """
    with runtime.session() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise NotFound("This document no longer exists; it may have been deleted.")
        clone = session.get(Clone, document.clone_id)
    path = stored_file(runtime, document)
    if document.status != "processing" or clone is None or not (claims.held(path) or claims.claim(path)):
        return document
    try:
        return _index(runtime, document, clone, path, stop)
    except Interrupted:
        return document
    except StudioError as error:
        return _fail(runtime, document, str(error))
    except Exception as error:
        log.exception("Ingestion of document %s failed", document.id)
        return _fail(runtime, document, f'"{document.filename}" could not be processed ({type(error).__name__}); '
                                        "try again, or upload a different copy of the file.")
    finally:
        claims.release(path)


def list_documents(runtime, clone_id: str, owner_id: str | None = None) -> list[Document]:
    """The clone's documents, the owner's only (the runtime's unless given), newest first."""
    with runtime.session() as session:
        statement = select(Document).where(Document.clone_id == clone_id, Document.owner_id == resolve(session, owner_id))
        statement = statement.order_by(Document.created_at.desc())
        return list(session.exec(statement).all())


def delete_document(runtime, document_id: str) -> None:
    """Remove the row first (a worker still on it then discards its own write), then chunks and file."""
    with runtime.session() as session:
        document = session.get(Document, document_id)
        if document is None or document.owner_id != owner_of(session):
            return
        session.delete(document)
        session.commit()
    runtime.store.delete_document(document_id)
    path = stored_file(runtime, document)
    path.unlink(missing_ok=True)
    claims.claim_path(path).unlink(missing_ok=True)


def delete_clone_knowledge(runtime, clone_id: str) -> None:
    """All documents, chunks and stored files of a clone (the clone row itself stays)."""
    with runtime.session() as session:
        session.exec(delete(Document).where(Document.clone_id == clone_id))
        session.commit()
    runtime.store.delete_clone(clone_id)
    folder = runtime.settings.files_dir / clone_id
    if folder.exists():
        shutil.rmtree(folder)


def recover_interrupted(runtime) -> list[str]:
    """At start-up: documents a crash left in processing are resumed (file still stored) or
    failed; documents live work holds (another process, e.g. the studio while the CLI runs) are left alone.
    Stored files whose row was never saved, and chunks whose row was deleted, are removed.
    Returns the ids queued for resuming."""
    remove_orphans(runtime)
    remove_orphan_chunks(runtime)
    with runtime.session() as session:
        stranded = session.exec(select(Document).where(Document.status == "processing")).all()
    resumed = []
    for document in stranded:
        path = stored_file(runtime, document)
        if not path.exists():
            _fail(runtime, document, f'"{document.filename}" was interrupted and its stored copy is missing; upload it again.')
        elif claims.claim(path):
            runtime.worker.submit(document.id)
            resumed.append(document.id)
    return resumed


def remove_orphan_chunks(runtime) -> int:
    """Chunks a kill left between deleting a document's row and its chunks are removed. Chunks are
    written only after their row is saved, so reading the chunks' ids before the rows is safe."""
    with_chunks = runtime.store.document_ids()
    if not with_chunks:
        return 0
    with runtime.session() as session:
        orphans = with_chunks - set(session.exec(select(Document.id)).all())
    for document_id in orphans:
        runtime.store.delete_document(document_id)
        log.info("Removed the chunks of deleted document %s", document_id)
    return len(orphans)


def remove_orphans(runtime) -> int:
    """Files a kill left between writing an upload and saving its row (the stored bytes, a
    half-written `.part`, the claim file) are removed; files whose claim live work holds are not."""
    groups: dict[Path, list[Path]] = {}
    files_dir = runtime.settings.files_dir
    for folder in (f for f in files_dir.iterdir() if f.is_dir()) if files_dir.exists() else ():
        try:
            items = list(folder.iterdir())
        except FileNotFoundError:  # the clone's knowledge was deleted meanwhile
            continue
        for item in items:
            stored = item.name.removesuffix(".part").removesuffix(".claim")
            groups.setdefault(folder / stored, []).append(item)
    if not groups:
        return 0
    with runtime.session() as session:
        known = dict(session.exec(select(Document.id, Document.status)).all())
    removed = 0
    for stored, items in groups.items():
        document_id = stored.name.split(".", 1)[0]
        if known.get(document_id, "processing") != "processing" and claims.claim_path(stored) in items:
            if claims.claim(stored):  # a kill after the document ended, before its claim was let go
                claims.release(stored)
            continue
        if document_id in known or not claims.claim(stored):
            continue
        try:
            with runtime.session() as session:
                if session.get(Document, document_id) is not None:  # saved (and finished) meanwhile
                    continue
            for item in items:
                if item != claims.claim_path(stored):
                    item.unlink(missing_ok=True)
            removed += 1
            log.info("Removed the orphaned upload %s", stored)
        finally:
            claims.release(stored)
    return removed


def finish_resumed(runtime, document_ids: list[str], timeout: float = 1800.0) -> list[Document]:
    """Wait until the documents this process resumed at start-up are ready or failed (the command
    line, which would otherwise abandon them when it exits); returns them as they ended."""
    if not document_ids:
        return []
    runtime.worker.wait_idle(timeout)
    with runtime.session() as session:
        return [d for d in (session.get(Document, i) for i in document_ids) if d is not None]


def retry_document(runtime, document_id: str, owner_id: str | None = None) -> Document:
    """Process a failed document, or one a crash left in processing, again from its stored copy
    (synchronously); refused while live work holds it."""
    with runtime.session() as session:
        document = session.get(Document, document_id)
    if document is None or document.owner_id != resolve(runtime, owner_id):
        raise NotFound("This document no longer exists; it may have been deleted.")
    if document.status == "ready":
        raise IngestError(f'"{document.filename}" is already ready; there is nothing to retry.')
    path = stored_file(runtime, document)
    if not claims.claim(path):
        raise IngestError(f'"{document.filename}" is being processed right now; wait until it is ready or failed.')
    if not path.exists():
        claims.release(path)
        _fail(runtime, document, f'The stored copy of "{document.filename}" is missing; add the file again.')
        raise IngestError(f'The stored copy of "{document.filename}" is missing; add the file again.')
    _update(runtime, document.id, status="processing", error=None)
    return process_document(runtime, document.id)


def release_claim(runtime, document_id: str) -> None:
    """Let go of a queued document this process will not process after all (shutdown)."""
    with runtime.session() as session:
        document = session.get(Document, document_id)
    if document is not None:
        claims.release(stored_file(runtime, document))
