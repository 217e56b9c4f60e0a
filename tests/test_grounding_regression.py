"""A tenth of the grounding development set, ingest -> search -> answer, through the normal pipeline.

The figures asserted are well under the targets (bench/grounding.py measures the real ones):
this catches a broken pipeline, not a small drift. The set lives in shared/eval/grounding-dev
beside the repository (CI has a copy there); without it the test is skipped.
"""
from __future__ import annotations

import json

import pytest

from bench.grounding import dev_set, evidence_hit
from core.chat import answer
from core.clones import create_clone
from core.knowledge.ingest import ingest_now
from core.knowledge.search import retrieve
from core.providers.offline_llm import is_refusal

QUESTIONS = ("q10", "q30", "q33", "q35")  # a tenth (4 of 40); small documents keep the fixture quick
DEV = dev_set()
pytestmark = pytest.mark.skipif(DEV is None, reason="the grounding development set is not beside the repository")


@pytest.fixture(scope="module")
def grounded(tmp_path_factory):
    """One ingested clone for the module: the documents these questions need, and their near-duplicates."""
    from core.config import Settings
    from core.runtime import open_runtime

    home = tmp_path_factory.mktemp("grounding")
    runtime = open_runtime(Settings(home, f"sqlite:///{home / 'studio.db'}", str(home / "lancedb"), 50), seed_demo=False)
    questions = [q for q in json.loads((DEV / "questions.json").read_text()) if q["id"] in QUESTIONS]
    names = {q["doc"] for q in questions} | {d for q in questions for d in q.get("confusable_with", [])}
    clone = create_clone(runtime, "Grounding", top_k=5)
    for name in sorted(names):
        assert ingest_now(runtime, clone.id, name, (DEV / "docs" / name).read_bytes()).status == "ready"
    yield runtime, clone, questions
    runtime.close()


def test_a_tenth_of_the_dev_set_is_found_cited_and_answered(grounded):
    runtime, clone, questions = grounded
    hit5 = cited = refused = 0
    for q in questions:
        sources = retrieve(runtime, clone, q["q"], k=5).sources
        hit5 += any(evidence_hit(q, s.document, s.page, s.text) for s in sources)
        result = answer(runtime, clone.id, q["q"])
        cited += any(evidence_hit(q, c["document"], c["page"], c["text"]) for c in result["citations"] if c["cited"])
        refused += is_refusal(result["answer"])
    assert hit5 >= 2 and cited >= 1 and refused <= 2, (hit5, cited, refused)


def test_a_question_the_documents_do_not_cover_is_refused(grounded):
    runtime, clone, _ = grounded
    result = answer(runtime, clone.id, "What is the recommended daily intake of vitamin C for adults?")
    assert is_refusal(result["answer"])
