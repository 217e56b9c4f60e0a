import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from core.clones import create_clone
from core.errors import IngestError, NotFound
from core.knowledge import ingest
from core.knowledge.chunk import Chunk, chunk_params
from core.knowledge.profile import FORMAT
from core.knowledge.ingest import (
    add_file, add_text, delete_clone_knowledge, delete_document, ingest_now, list_documents,
    process_document, recover_interrupted, stored_file,
)
from core.knowledge.search import retrieve
from core.models import Document
from tests.data.pdfs import corrupt_pdf, encrypted_pdf, scanned_pdf, text_pdf

ROOT = Path(__file__).resolve().parent.parent
NOTES = b"# Opening hours\n\nThe bakery opens at seven and closes at six.\n\n# Bread\n\nSourdough is baked daily.\n"


@pytest.fixture
def clone(runtime):
    return create_clone(runtime, "Librarian")


def chunk_count(runtime, document_id):
    return runtime.store.count(document_id=document_id)


def test_markdown_file_becomes_ready_with_chunks(runtime, clone):
    document = ingest_now(runtime, clone.id, "notes.md", NOTES)
    assert (document.status, document.error, document.kind, document.pages) == ("ready", None, "markdown", None)
    assert document.chunk_count == chunk_count(runtime, document.id) == 2
    assert {k: document.chunk_params[k] for k in chunk_params()} == chunk_params()
    assert (document.chunk_params["format"], document.chunk_params["title"]) == (FORMAT, "Opening hours (notes)")
    path = stored_file(runtime, document)
    assert path == runtime.settings.files_dir / clone.id / f"{document.id}.md"
    assert path.read_bytes() == NOTES
    chunks = runtime.store.document_chunks(document.id).to_pylist()
    assert [(c["chunk_index"], c["heading"], c["page"]) for c in chunks] == [(0, "Opening hours", None), (1, "Bread", None)]


def test_pdf_keeps_page_numbers(runtime, clone):
    data = text_pdf(["Apples grow on trees.", "Carrots grow underground.", "Fish swim in rivers."])
    document = ingest_now(runtime, clone.id, "nature.pdf", data)
    assert (document.status, document.pages, document.chunk_count) == ("ready", 3, 3)
    chunks = runtime.store.document_chunks(document.id).to_pylist()
    assert [(c["page"], c["text"]) for c in chunks] == [
        (1, "Apples grow on trees."), (2, "Carrots grow underground."), (3, "Fish swim in rivers."),
    ]


def test_upload_is_processed_in_the_background(runtime, clone):
    document = add_file(runtime, clone.id, "notes.md", NOTES)
    assert document.status == "processing"
    assert runtime.worker.wait_idle(120)
    [listed] = list_documents(runtime, clone.id)
    assert (listed.id, listed.status, listed.chunk_count) == (document.id, "ready", 2)


def test_pasted_text(runtime, clone):
    document = add_text(runtime, clone.id, "Meeting notes", "# Decisions\n\nWe ship on Friday.")
    assert (document.filename, document.kind) == ("Meeting notes", "markdown")
    assert runtime.worker.wait_idle(120)
    assert list_documents(runtime, clone.id)[0].status == "ready"
    with pytest.raises(IngestError, match="pasted text is empty"):
        add_text(runtime, clone.id, "Nothing", "  \n ")


def test_same_file_twice_in_a_clone_is_refused(runtime, clone):
    ingest_now(runtime, clone.id, "notes.md", NOTES)
    with pytest.raises(IngestError) as error:
        ingest_now(runtime, clone.id, "copy of notes.md", NOTES)
    assert str(error.value) == '"copy of notes.md" is already in the knowledge base as "notes.md".'
    assert len(list_documents(runtime, clone.id)) == 1
    other = create_clone(runtime, "Other")
    assert ingest_now(runtime, other.id, "notes.md", NOTES).status == "ready"


def test_a_failed_copy_does_not_block_a_new_try(runtime, clone):
    broken = corrupt_pdf()
    assert ingest_now(runtime, clone.id, "a.pdf", broken).status == "failed"
    assert ingest_now(runtime, clone.id, "a.pdf", broken).status == "failed"


def test_unknown_clone(runtime):
    with pytest.raises(NotFound):
        ingest_now(runtime, "no-such-clone", "notes.md", NOTES)


REFUSED = [
    ("empty.txt", b"", "is empty"),
    ("blank.md", b"\n\n   \n", "is empty"),
    ("bom-only.txt", b"\xef\xbb\xbf", "is empty"),
    ("noise.txt", b"\x00\x01\x02\x03" * 500, "contains binary data"),
    ("report.docx", b"PK\x03\x04 a word file", "is a .docx file, which the knowledge base cannot read"),
    ("tool.exe", b"MZ\x90\x00", "is a .exe file"),
    ("paper.txt", text_pdf(["hi"]), "is a PDF but its name ends in .txt"),
    ("notes.pdf", b"just some words", "is named .pdf but contains plain text"),
    ("big.txt", b"a" * (5 * 1024 * 1024 + 1), "over the 5 MB upload limit"),
]


@pytest.mark.parametrize("name, data, phrase", REFUSED)
def test_bad_uploads_are_refused_and_leave_nothing_behind(runtime, clone, name, data, phrase):
    good = ingest_now(runtime, clone.id, "notes.md", NOTES)
    with pytest.raises(IngestError) as error:
        add_file(runtime, clone.id, name, data)
    assert phrase in str(error.value) and "\n" not in str(error.value)
    assert [d.id for d in list_documents(runtime, clone.id)] == [good.id]
    assert sorted(p.name for p in (runtime.settings.files_dir / clone.id).iterdir()) == [f"{good.id}.md"]


@pytest.mark.parametrize("name, data, phrase", [
    ("broken.pdf", corrupt_pdf(), "is damaged and cannot be opened as a PDF"),
    ("scan.pdf", scanned_pdf(), "has no text layer"),
    ("locked.pdf", encrypted_pdf(), "is password-protected"),
])
def test_bad_pdfs_fail_with_a_reason_and_the_studio_keeps_working(runtime, clone, name, data, phrase):
    good = ingest_now(runtime, clone.id, "notes.md", NOTES)
    document = add_file(runtime, clone.id, name, data)
    assert runtime.worker.wait_idle(120)
    failed = {d.id: d for d in list_documents(runtime, clone.id)}[document.id]
    assert failed.status == "failed" and phrase in failed.error and failed.chunk_count == 0
    assert chunk_count(runtime, document.id) == 0
    assert chunk_count(runtime, good.id) == good.chunk_count
    assert retrieve(runtime, clone, "When does the bakery open?").sources[0].document == "notes.md"


def test_path_parts_never_choose_where_the_file_goes(runtime, clone, tmp_path):
    document = ingest_now(runtime, clone.id, "../../../escape.txt", b"Harmless text.")
    assert document.filename == "escape.txt"
    assert stored_file(runtime, document).parent == runtime.settings.files_dir / clone.id
    assert not list(tmp_path.rglob("escape.txt"))


def test_a_failure_removes_chunks_left_by_an_earlier_attempt(runtime, clone):
    good = ingest_now(runtime, clone.id, "notes.md", NOTES)
    document = ingest._register(runtime, clone.id, "broken.pdf", "pdf", corrupt_pdf())
    leftovers = [Chunk(i, f"stale chunk {i}", 1, "") for i in range(3)]
    runtime.store.add_document(clone.id, document.id, leftovers, np.eye(3, 384, dtype=np.float32))
    assert chunk_count(runtime, document.id) == 3
    done = process_document(runtime, document.id)
    assert done.status == "failed" and "damaged" in done.error
    assert chunk_count(runtime, document.id) == 0
    assert chunk_count(runtime, good.id) == good.chunk_count


def test_delete_document_removes_row_chunks_and_file(runtime, clone):
    keep = ingest_now(runtime, clone.id, "keep.md", b"Keep this text about owls.")
    gone = ingest_now(runtime, clone.id, "notes.md", NOTES)
    path = stored_file(runtime, gone)
    delete_document(runtime, gone.id)
    assert [d.id for d in list_documents(runtime, clone.id)] == [keep.id]
    assert chunk_count(runtime, gone.id) == 0 and not path.exists()
    assert chunk_count(runtime, keep.id) == 1 and stored_file(runtime, keep).exists()
    assert all(s.document == "keep.md" for s in retrieve(runtime, clone, "bakery opening hours").sources)
    delete_document(runtime, gone.id)  # a second click does no harm


def test_delete_clone_knowledge(runtime, clone):
    other = create_clone(runtime, "Other")
    ingest_now(runtime, clone.id, "notes.md", NOTES)
    kept = ingest_now(runtime, other.id, "notes.md", NOTES)
    delete_clone_knowledge(runtime, clone.id)
    assert runtime.store.count(clone_id=clone.id) == 0 and list_documents(runtime, clone.id) == []
    assert not (runtime.settings.files_dir / clone.id).exists()
    assert runtime.store.count(clone_id=other.id) == kept.chunk_count


def test_a_document_deleted_before_processing(runtime, clone):
    document = ingest._register(runtime, clone.id, "notes.md", "markdown", NOTES)
    delete_document(runtime, document.id)
    with pytest.raises(NotFound):
        process_document(runtime, document.id)
    assert runtime.store.count(clone_id=clone.id) == 0


# ---------------------------------------------------------------- crash recovery

CRASH = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    import numpy as np
    from core.config import Settings
    from core.runtime import Runtime
    from core.knowledge import ingest
    from core.knowledge.chunk import Chunk
    cfg = json.loads(sys.argv[1])
    runtime = Runtime(Settings(Path(cfg["home"]), cfg["db"], cfg["lance"], 5))
    doc = ingest._register(runtime, cfg["clone"], "notes.md", "markdown", cfg["text"].encode())
    runtime.store.add_document(cfg["clone"], doc.id, [Chunk(0, "half written", None, "")], np.eye(1, 384, dtype=np.float32))
    print(doc.id, flush=True)
    os._exit(9)  # die mid-ingestion: no cleanup, no status update
""")

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core.knowledge import claims
    assert claims.claim(Path(sys.argv[1]))
    print("held", flush=True)
    time.sleep(120)
""")


def crash_mid_ingestion(settings, clone) -> str:
    cfg = {"home": str(settings.home), "db": settings.database_url, "lance": settings.lancedb_uri,
           "clone": clone.id, "text": NOTES.decode()}
    done = subprocess.run([sys.executable, "-c", CRASH, json.dumps(cfg)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    return done.stdout.strip()


def status(runtime, document_id):
    with runtime.session() as session:
        return session.get(Document, document_id)


def test_interrupted_document_is_resumed_at_start_up(runtime, settings, clone):
    document_id = crash_mid_ingestion(settings, clone)
    assert status(runtime, document_id).status == "processing"
    recover_interrupted(runtime)
    assert runtime.worker.wait_idle(120)
    document = status(runtime, document_id)
    assert (document.status, document.chunk_count) == ("ready", 2)
    assert chunk_count(runtime, document_id) == 2  # the half-written chunk is gone


def test_interrupted_document_without_its_file_is_failed(runtime, settings, clone):
    document_id = crash_mid_ingestion(settings, clone)
    stored_file(runtime, status(runtime, document_id)).unlink()
    recover_interrupted(runtime)
    document = status(runtime, document_id)
    assert document.status == "failed" and "was interrupted" in document.error
    assert chunk_count(runtime, document_id) == 0


def test_recovery_leaves_live_work_of_another_process_alone(runtime, settings, clone):
    document_id = crash_mid_ingestion(settings, clone)
    path = stored_file(runtime, status(runtime, document_id))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        recover_interrupted(runtime)
        assert runtime.worker.wait_idle(60)
        assert status(runtime, document_id).status == "processing"
    finally:
        holder.kill()
        holder.wait()
    recover_interrupted(runtime)
    assert runtime.worker.wait_idle(120)
    assert status(runtime, document_id).status == "ready"


def test_documents_queued_at_shutdown_are_resumed_by_the_next_start(settings, runtime, clone):
    from core.runtime import open_runtime

    for i in range(4):
        add_file(runtime, clone.id, f"note{i}.md", NOTES + f"\nNote number {i}.".encode())
    runtime.worker.shutdown()
    again = open_runtime(settings, seed_demo=False)
    try:
        assert again.worker.wait_idle(120)
        with again.session() as session:
            states = session.exec(select(Document.status).where(Document.clone_id == clone.id)).all()
        assert states == ["ready"] * 4
    finally:
        again.close()
