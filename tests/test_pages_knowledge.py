"""The Knowledge page through AppTest: upload several files, paste text, watch status, delete, search."""
from __future__ import annotations

from core.clones import create_clone, update_clone
from core.knowledge.ingest import ingest_now, list_documents
from core.providers.base import Source
from studio.relevance import NOISE_FLOOR, relevant_passages
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


LONG_ORCHARD = ORCHARD + "\n" + " ".join(f"Row {n} holds Conference and Comice pears." for n in range(1, 13)) + "\n"


def search(at, query):
    [t for t in at.text_input if t.label == "Question"][0].input(query).run()
    no_exception(at)
    return [e for e in at.expander if e.label[:1].isdigit()]


def test_search_lists_relevant_passages_best_first_and_each_expands_to_the_whole_passage(app, studio_runtime):
    clone, _ = knowledge_page(app, studio_runtime)
    ingest_now(studio_runtime, clone.id, "volcano.md", VOLCANO.encode())
    ingest_now(studio_runtime, clone.id, "orchard.txt", LONG_ORCHARD.encode())
    at = app(PAGE_KNOWLEDGE, query={"clone": clone.id})
    rows = search(at, "Why is the crater lake green?")
    scores = [float(unescape(row.label).split(" · ")[0]) for row in rows]
    assert rows and scores == sorted(scores, reverse=True) and scores[0] >= NOISE_FLOOR
    assert "volcano.md" in unescape(rows[0].label)
    assert "copper salts, and the rangers measure it every spring." in unescape(rows[0].markdown[0].value)

    rows = search(at, "How many pear trees are there?")
    whole = unescape(rows[0].markdown[0].value)
    assert "Row 12 holds Conference and Comice pears." in whole  # the whole passage, not one line
    assert len(unescape(rows[0].label)) < 140


def test_a_nonsense_search_finds_nothing_relevant(app, studio_runtime):
    clone, _ = knowledge_page(app, studio_runtime)
    ingest_now(studio_runtime, clone.id, "volcano.md", VOLCANO.encode())
    ingest_now(studio_runtime, clone.id, "orchard.txt", ORCHARD.encode())
    at = app(PAGE_KNOWLEDGE, query={"clone": clone.id})
    assert search(at, "zxqv blorp wibble") == []
    assert "Nothing relevant in this clone's documents" in texts(at)


def test_passages_under_the_clones_minimum_score_are_dropped(app, studio_runtime):
    clone, _ = knowledge_page(app, studio_runtime)
    ingest_now(studio_runtime, clone.id, "volcano.md", VOLCANO.encode())
    ingest_now(studio_runtime, clone.id, "orchard.txt", ORCHARD.encode())
    at = app(PAGE_KNOWLEDGE, query={"clone": clone.id})
    best = float(unescape(search(at, "Why is the crater lake green?")[0].label).split(" · ")[0])
    update_clone(studio_runtime, clone.id, min_score=min(1.0, best + 0.01))
    at = app(PAGE_KNOWLEDGE, query={"clone": clone.id})
    assert search(at, "Why is the crater lake green?") == []
    assert "Nothing relevant" in texts(at)


def test_relevant_passages_sorts_drops_and_keeps_weak_ones_apart():
    def source(n, score):
        return Source(n, "d.md", None, f"passage {n}", score)

    found = relevant_passages([source(1, 0.5), source(2, 0.9), source(3, 0.0), source(4, 0.1), source(5, 0.3)],
                              min_score=0.05)
    assert [s.n for s in found.shown] == [2, 1, 5] and [s.n for s in found.weak] == [4]
    found = relevant_passages([source(1, 0.5), source(2, 0.6)], min_score=0.55)
    assert [s.n for s in found.shown] == [2] and found.weak == [] and found.bar == 0.55


def test_the_demo_clone_lists_its_ready_documents(app):
    at = app(PAGE_KNOWLEDGE)
    no_exception(at)
    page = texts(at)
    assert "Processing" not in page and "Failed" not in page
    assert " ready" in page and ".md" in page
