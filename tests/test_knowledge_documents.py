"""Documents a crash left behind: stuck ones finished by the command line or re-added, orphaned
uploads removed at start-up, and `python -m core documents list|retry|delete`."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from core.clones import create_clone
from core.knowledge import claims
from core.knowledge.ingest import (
    ingest_now, list_documents, recover_interrupted, remove_orphan_chunks, remove_orphans, retry_document,
    stored_file,
)
from tests.data.pdfs import corrupt_pdf
from tests.test_knowledge_cli import run_cli
from tests.test_knowledge_ingest import HOLD, NOTES, ROOT, chunk_count, crash_mid_ingestion, status

# Dies right after the upload's bytes are written, before its row is saved.
KILL_BEFORE_ROW = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from core.config import Settings
    from core.runtime import Runtime
    from core.knowledge import ingest
    cfg = json.loads(sys.argv[1])
    runtime = Runtime(Settings(Path(cfg["home"]), cfg["db"], cfg["lance"], 5))
    write = ingest._write_atomic
    def write_then_die(path, data):
        write(path, data)
        print(path, flush=True)
        os._exit(9)
    ingest._write_atomic = write_then_die
    ingest._register(runtime, cfg["clone"], "orphan.md", "markdown", cfg["text"].encode())
""")


# Dies in delete_document after the row is gone, before its chunks are removed.
KILL_BEFORE_CHUNKS = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from core.config import Settings
    from core.runtime import Runtime
    from core.knowledge import ingest
    cfg = json.loads(sys.argv[1])
    runtime = Runtime(Settings(Path(cfg["home"]), cfg["db"], cfg["lance"], 5))
    runtime.store.delete_document = lambda document_id: os._exit(9)
    ingest.delete_document(runtime, cfg["document"])
""")


@pytest.fixture
def clone(runtime):
    return create_clone(runtime, "Archivist")


def kill_before_row(settings, clone):
    cfg = {"home": str(settings.home), "db": settings.database_url, "lance": settings.lancedb_uri,
           "clone": clone.id, "text": NOTES.decode()}
    done = subprocess.run([sys.executable, "-c", KILL_BEFORE_ROW, json.dumps(cfg)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    from pathlib import Path

    return Path(done.stdout.strip())


def test_an_upload_killed_before_its_row_is_saved_leaves_nothing_after_start_up(runtime, settings, clone):
    path = kill_before_row(settings, clone)
    assert path.exists() and claims.claim_path(path).exists()  # the defect: bytes and claim left behind
    assert list_documents(runtime, clone.id) == []
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert remove_orphans(runtime) == 0 and path.exists()  # live work elsewhere: untouched
    finally:
        holder.kill()
        holder.wait()
    recover_interrupted(runtime)
    assert not path.exists() and not claims.claim_path(path).exists()
    assert list(path.parent.iterdir()) == []
    assert ingest_now(runtime, clone.id, "orphan.md", NOTES).status == "ready"  # and the file can be added again


def test_orphan_sweep_keeps_every_file_that_has_a_row(runtime, clone):
    document = ingest_now(runtime, clone.id, "notes.md", NOTES)
    assert remove_orphans(runtime) == 0
    assert stored_file(runtime, document).exists()


def test_re_adding_a_file_a_crash_left_stuck_takes_it_over(runtime, settings, clone):
    stuck = crash_mid_ingestion(settings, clone)
    document = ingest_now(runtime, clone.id, "notes again.md", NOTES)
    assert (document.status, document.chunk_count) == ("ready", 2)
    assert [d.id for d in list_documents(runtime, clone.id)] == [document.id]
    assert status(runtime, stuck) is None and chunk_count(runtime, stuck) == 0


def test_re_adding_a_file_live_work_holds_is_refused_plainly(runtime, settings, clone):
    stuck = crash_mid_ingestion(settings, clone)
    path = stored_file(runtime, status(runtime, stuck))
    assert claims.claim(path)
    try:
        from core.errors import IngestError

        with pytest.raises(IngestError, match="already being added"):
            ingest_now(runtime, clone.id, "notes.md", NOTES)
    finally:
        claims.release(path)


def test_re_adding_a_failed_file_replaces_the_failed_copy(runtime, clone):
    first = ingest_now(runtime, clone.id, "a.pdf", corrupt_pdf())
    second = ingest_now(runtime, clone.id, "a.pdf", corrupt_pdf())
    assert first.status == second.status == "failed"
    assert [d.id for d in list_documents(runtime, clone.id)] == [second.id]


def test_retry_a_stuck_document(runtime, settings, clone):
    stuck = crash_mid_ingestion(settings, clone)
    done = retry_document(runtime, stuck)
    assert (done.status, done.chunk_count, chunk_count(runtime, stuck)) == ("ready", 2, 2)


# ---------------------------------------------------------------- the command line


def test_ingest_finishes_what_a_crash_left_stuck_before_it_exits(runtime, settings, clone, tmp_path):
    stuck = crash_mid_ingestion(settings, clone)
    other = tmp_path / "trail.md"
    other.write_text("# Trail\n\nThe loop is twelve kilometres long.\n")
    result = run_cli(settings, "ingest", "--clone", clone.id, str(other))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "ready   trail.md: 1 chunks", "ready   notes.md: 2 chunks  (finished after an interruption)"]
    assert status(runtime, stuck).status == "ready" and chunk_count(runtime, stuck) == 2


def test_ingest_of_the_file_a_crash_left_stuck_succeeds(runtime, settings, clone, tmp_path):
    stuck = crash_mid_ingestion(settings, clone)
    notes = tmp_path / "notes.md"
    notes.write_bytes(NOTES)
    result = run_cli(settings, "ingest", "--clone", clone.id, str(notes))
    assert (result.returncode, result.stdout.strip()) == (0, "ready   notes.md: 2 chunks  (finished after an interruption)")
    assert [d.id for d in list_documents(runtime, clone.id)] == [stuck]


def test_documents_list_retry_and_delete(runtime, settings, clone):
    broken = ingest_now(runtime, clone.id, "broken.pdf", corrupt_pdf())
    ready = ingest_now(runtime, clone.id, "notes.md", NOTES)
    listing = run_cli(settings, "documents", "list", "--clone", clone.name, "--json")
    rows = {row["filename"]: row for row in json.loads(listing.stdout)}
    assert (rows["broken.pdf"]["status"], rows["notes.md"]["status"], rows["notes.md"]["chunks"]) == ("failed", "ready", 2)

    retry = run_cli(settings, "documents", "retry", "--clone", clone.name)
    assert retry.returncode == 1 and retry.stdout.startswith("failed  broken.pdf: ")

    refused = run_cli(settings, "documents", "delete", "--clone", clone.name, "broken.pdf")
    assert refused.returncode == 1
    assert refused.stderr.strip() == 'error: Deleting "broken.pdf" cannot be undone; add --yes to confirm.'
    assert status(runtime, broken.id) is not None

    gone = run_cli(settings, "documents", "delete", "--clone", clone.name, "broken.pdf", ready.id, "--yes")
    assert (gone.returncode, gone.stdout.splitlines()) == (0, ["Deleted broken.pdf.", "Deleted notes.md."])
    assert list_documents(runtime, clone.id) == [] and chunk_count(runtime, ready.id) == 0
    assert not stored_file(runtime, ready).exists()

    missing = run_cli(settings, "documents", "retry", "--clone", clone.name, "nope.md")
    assert missing.returncode == 1 and "No document \"nope.md\"" in missing.stderr


def test_a_claim_left_by_a_kill_after_a_document_ended_is_swept(runtime, clone):
    document = ingest_now(runtime, clone.id, "notes.md", NOTES)
    path = stored_file(runtime, document)
    claims.claim_path(path).write_text('{"pid": 1}')  # the process died before letting go of it
    recover_interrupted(runtime)
    assert not claims.claim_path(path).exists() and path.exists()
    assert status(runtime, document.id).status == "ready"


def test_chunks_a_kill_left_behind_a_deleted_document_are_removed_at_start_up(runtime, settings, clone):
    gone = ingest_now(runtime, clone.id, "notes.md", NOTES)
    kept = ingest_now(runtime, clone.id, "kept.md", NOTES + b"\n\nA second note about the archive.\n")
    cfg = {"home": str(settings.home), "db": settings.database_url, "lance": settings.lancedb_uri, "document": gone.id}
    done = subprocess.run([sys.executable, "-c", KILL_BEFORE_CHUNKS, json.dumps(cfg)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    assert [d.id for d in list_documents(runtime, clone.id)] == [kept.id] and chunk_count(runtime, gone.id) > 0
    recover_interrupted(runtime)
    assert chunk_count(runtime, gone.id) == 0
    assert chunk_count(runtime, kept.id) > 0 and remove_orphan_chunks(runtime) == 0
