"""The demo clone a fresh studio opens on."""
from __future__ import annotations

from core.chat import answer
from core.clones import create_clone, delete_clone, list_clones
from core.demo import FIRST_QUESTION, NAME, ensure_demo_clone
from core.knowledge.ingest import list_documents
from core.runtime import open_runtime


def test_first_run_seeds_a_demo_that_answers_the_first_question_with_a_citation(runtime):
    clone = ensure_demo_clone(runtime)
    assert clone is not None and clone.name == NAME and clone.created_from == "demo"
    documents = list_documents(runtime, clone.id)
    assert len(documents) >= 3 and all(d.status == "ready" and d.chunk_count > 0 for d in documents)

    result = answer(runtime, clone.id, FIRST_QUESTION)
    assert "7:00 to 18:00" in result["answer"]
    cited = [c for c in result["citations"] if c["cited"]]
    assert cited and cited[0]["document"] == "juniper-street-bakery-handbook.md"
    assert f"[{cited[0]['n']}]" in result["answer"]


def test_the_demo_is_seeded_once_and_never_resurrected(runtime):
    clone = ensure_demo_clone(runtime)
    assert ensure_demo_clone(runtime) is None
    delete_clone(runtime, clone.id)
    assert ensure_demo_clone(runtime) is None
    with runtime.session() as session:
        assert list_clones(session) == []


def test_an_existing_studio_gets_no_demo(runtime):
    create_clone(runtime, "Mine")
    assert ensure_demo_clone(runtime) is None
    with runtime.session() as session:
        assert [c.name for c in list_clones(session)] == ["Mine"]


def test_open_runtime_seeds_the_demo_by_default(settings):
    runtime = open_runtime(settings)
    try:
        with runtime.session() as session:
            assert [c.name for c in list_clones(session)] == [NAME]
    finally:
        runtime.close()
    runtime = open_runtime(settings)
    try:
        with runtime.session() as session:
            assert len(list_clones(session)) == 1
    finally:
        runtime.close()
