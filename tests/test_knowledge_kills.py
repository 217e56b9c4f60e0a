"""Ingestion killed (SIGKILL) at random points, again and again on one data directory: after
each restart every document is whole (row ready, its chunks, its file) or absent, nothing is
left in processing, no file is orphaned and the database passes its integrity check.

Killed processes fork from a preloaded forkserver, so each round costs the ingestion, not
Python's imports.
"""
from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

KILLS = 20
MAX_ROUNDS = 45
FILES_PER_ROUND = 4
# the forkserver imports this module first, so LanceDB's fork notice stays quiet there too
warnings.filterwarnings("ignore", message="lancedb fork support", category=RuntimeWarning)
PRELOAD = ["tests.test_knowledge_kills", "core.runtime", "core.knowledge.ingest", "core.knowledge.store", "core.providers.remote", "core.clones"]


def _document(round_: int, i: int) -> tuple[str, bytes]:
    """Half the files come back every round (re-adds of ready, failed or stuck copies), half are new."""
    seed = i if i % 2 else f"{round_}-{i}"
    body = "\n\n".join(f"## Part {k}\n\nLoaf {seed} rises for {k} hours in a warm kitchen, then bakes." for k in range(8))
    return f"loaf-{seed}.md", f"# Loaf {seed}\n\n{body}\n".encode()


def _child(settings, clone_id: str, round_: int, ready) -> None:
    """A studio process: start up (recovering what the last kill left), then add files."""
    from core.errors import IngestError
    from core.knowledge.ingest import ingest_now
    from core.runtime import open_runtime

    runtime = open_runtime(settings, seed_demo=False)
    from core.providers.remote import embedder_for

    embedder_for(runtime, "minilm").embed(["warm up"])
    ready.set()
    for i in range(FILES_PER_ROUND):
        name, data = _document(round_, i)
        try:
            ingest_now(runtime, clone_id, name, data)
        except IngestError:
            pass  # already there, or being finished by this process's recovery
    runtime.worker.wait_idle(120)
    runtime.close()
    os._exit(0)


def _check_whole_or_absent(settings) -> dict:
    """Restart (recovery runs), let it finish, then compare SQL rows, LanceDB chunks and files."""
    from core.knowledge.ingest import stored_file
    from core.models import Document
    from core.runtime import open_runtime

    runtime = open_runtime(settings, seed_demo=False)
    try:
        assert runtime.worker.wait_idle(120)
        with runtime.session() as session:
            documents = session.exec(select(Document)).all()
            if runtime.engine.dialect.name == "sqlite":
                assert session.exec(text("PRAGMA integrity_check")).scalar() == "ok"
                assert session.exec(text("PRAGMA foreign_key_check")).all() == []
        ids = {d.id for d in documents}
        owners = runtime.store.table.search().select(["document_id"]).limit(None).to_arrow()
        per_document = Counter(owners.column("document_id").to_pylist())
        assert set(per_document) <= ids, "chunks of a document that has no row"
        for document in documents:
            chunks = per_document.get(document.id, 0)
            assert document.status in ("ready", "failed"), f"{document.filename} left {document.status}"
            if document.status == "ready":
                assert chunks == document.chunk_count > 0, f"{document.filename}: {chunks} of {document.chunk_count}"
                assert stored_file(runtime, document).exists()
            else:
                assert chunks == 0
        leftovers = [p.name for p in Path(settings.files_dir).rglob("*") if p.is_file() and p.name.split(".")[0] not in ids]
        assert leftovers == [], f"orphaned files: {leftovers}"
        assert not [p for p in Path(settings.files_dir).rglob("*") if p.suffix in (".part", ".claim")]
        return {"ready": sum(d.status == "ready" for d in documents), "failed": sum(d.status == "failed" for d in documents)}
    finally:
        runtime.close()


@pytest.mark.timeout(1200)  # ~30-60 s on a quiet machine; the bound only stops a hung round
def test_random_kills_during_ingestion_leave_every_document_whole_or_absent(runtime, settings):
    from core.clones import create_clone

    clone = create_clone(runtime, "Survivor", "Killed again and again.", "🍞", "You are {{ clone_name }}.")
    runtime.close()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    rng = random.Random(11)
    kills, window, rounds = 0, None, 0
    while kills < KILLS and rounds < MAX_ROUNDS:
        ready = context.Event()
        child = context.Process(target=_child, args=(settings, clone.id, rounds, ready))
        child.start()
        assert ready.wait(120), "the ingesting process did not start"
        started = time.monotonic()
        if window is None:  # the first round runs to the end: how long a round's ingestion takes
            child.join(180)
            window = time.monotonic() - started
        else:
            time.sleep(rng.uniform(0, window))
            if child.is_alive():
                os.kill(child.pid, signal.SIGKILL)
            child.join(60)
            if child.exitcode == -signal.SIGKILL:
                kills += 1
            else:  # it finished first: later kills aim inside this (shorter) duration
                window = min(window, time.monotonic() - started)
        assert child.exitcode in (0, -signal.SIGKILL), f"round {rounds} ended with {child.exitcode}"
        counts = _check_whole_or_absent(settings)
        rounds += 1
    assert kills >= KILLS, f"only {kills} kills landed in {rounds} rounds"
    assert counts["ready"] >= FILES_PER_ROUND
    print(f"\n{kills} kills in {rounds} rounds; {counts}")
