"""The Knowledge page through AppTest: upload several files, paste text, watch status, delete, search."""
from __future__ import annotations

from core.clones import create_clone
from core.knowledge.ingest import ingest_now, list_documents
from studio.state import PAGE_KNOWLEDGE
from tests.studio_app import app, button, no_exception, studio_runtime, texts, unescape  # noqa: F401

VOLCANO = (
    "# Field notes\n\nThe Ketterby volcano last erupted in 1821. Its crater lake is bright green "
    "because of dissolved copper salts, and the rangers measure it every spring.\n"
)
ORCHARD = "The orchard has forty-two pear trees. Pruning happens in late February, never in frost.\n"


def knowledge_page(app, runtime, name="Vera"):
    clone = create_clone(runtime, name, "Keeps field notes.")
    return clone, app(PAGE_KNOWLEDGE, query={"clone": clone.id})


def wait_and_rerun(at, runtime):
    assert runtime.worker.wait_idle(120)
    at.run()
    no_exception(at)


def test_upload_several_files_refused_ones_say_why_others_go_in(app, studio_runtime):
    clone, at = knowledge_page(app, studio_runtime)
    assert "No documents yet" in texts(at)
    at.file_uploader[0].set_value(
        [
            ("volcano.md", VOLCANO.encode(), "text/markdown"),
            ("orchard.txt", ORCHARD.encode(), "text/plain"),
            ("empty.txt", b"", "text/plain"),
            ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04", "application/octet-stream"),
        ]
    )
    button(at, "Add to knowledge").click().run()
    no_exception(at)
    refusals = [unescape(e.value) for e in at.error]
    assert len(refusals) == 2, refusals
    assert any("empty.txt" in r for r in refusals) and any("tool.exe" in r for r in refusals)

    wait_and_rerun(at, studio_runtime)
    documents = {d.filename: d for d in list_documents(studio_runtime, clone.id)}
    assert set(documents) == {"volcano.md", "orchard.txt"}
    assert all(d.status == "ready" and d.chunk_count >= 1 for d in documents.values())
    page = texts(at)
    assert "volcano.md" in page and "orchard.txt" in page and "2 ready" in page
    assert "Ready" in page and "Processing" not in page


def test_a_file_that_fails_processing_shows_the_reason_and_others_stay(app, studio_runtime):
    clone, at = knowledge_page(app, studio_runtime)
    ingest_now(studio_runtime, clone.id, "orchard.txt", ORCHARD.encode())
    broken = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 8
    at.file_uploader[0].set_value(("broken.pdf", broken, "application/pdf"))
    button(at, "Add to knowledge").click().run()
    wait_and_rerun(at, studio_runtime)
    documents = {d.filename: d for d in list_documents(studio_runtime, clone.id)}
    assert documents["broken.pdf"].status == "failed" and documents["orchard.txt"].status == "ready"
    page = texts(at)
    assert documents["broken.pdf"].error in page
    assert "1 failed" in page and "Failed" in page


def test_paste_text_becomes_a_document(app, studio_runtime):
    clone, at = knowledge_page(app, studio_runtime)
    paste_title = [t for t in at.text_input if t.label == "Title"][0]
    paste_title.input("Orchard notes")
    [t for t in at.text_area if t.label == "Text"][0].input(ORCHARD)
    button(at, "Add text").click().run()
    no_exception(at)
    wait_and_rerun(at, studio_runtime)
    (document,) = list_documents(studio_runtime, clone.id)
    assert document.status == "ready"
    assert document.filename in texts(at)


def test_delete_a_document_after_confirming(app, studio_runtime):
    clone, _ = knowledge_page(app, studio_runtime)
    document = ingest_now(studio_runtime, clone.id, "orchard.txt", ORCHARD.encode())
    at = app(PAGE_KNOWLEDGE, query={"clone": clone.id})
    at.button(key=f"delete-{document.id}").click().run()
    assert "Delete **orchard.txt**" in texts(at)
    button(at, "Cancel").click().run()
    assert len(list_documents(studio_runtime, clone.id)) == 1

    at.button(key=f"delete-{document.id}").click().run()
    button(at, "Delete document").click().run()
    no_exception(at)
    assert list_documents(studio_runtime, clone.id) == []
    assert "No documents yet" in texts(at)


def test_search_shows_what_retrieval_returns_with_scores(app, studio_runtime):
    clone, _ = knowledge_page(app, studio_runtime)
    ingest_now(studio_runtime, clone.id, "volcano.md", VOLCANO.encode())
    ingest_now(studio_runtime, clone.id, "orchard.txt", ORCHARD.encode())
    at = app(PAGE_KNOWLEDGE, query={"clone": clone.id})
    [t for t in at.text_input if t.label == "Question"][0].input("Why is the crater lake green?").run()
    no_exception(at)
    (table,) = at.dataframe
    frame = table.value
    assert frame.iloc[0]["Document"] == "volcano.md"
    assert "copper" in frame.iloc[0]["Passage"]
    assert frame["Score"].between(0, 1).all()


def test_the_demo_clone_lists_its_ready_documents(app):
    at = app(PAGE_KNOWLEDGE)
    no_exception(at)
    page = texts(at)
    assert "Processing" not in page and "Failed" not in page
    assert " ready" in page and ".md" in page
