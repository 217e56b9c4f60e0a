"""Variants, the playground comparison and A/B runs: shared sources, stored answers, verdicts, tally."""
from __future__ import annotations

import pytest

from core.ab import (
    compare, delete_run, get_run, list_runs, make_variant, mark_winner, record_scores, run_ab, run_results,
    run_totals, tally, variant_from_record,
)
from core.clones import create_clone
from core.errors import InvalidInput, NotFound
from core.knowledge.ingest import ingest_now
from core.knowledge.search import retrieve
from core.prompts import save_version
from core.question_sets import create_question_set

NOTES = (
    "# Lighthouse log\n\nThe Skerry Point keeper winds the clockwork every four hours. "
    "The lamp uses a first-order Fresnel lens made in 1874.\n\n"
    "# Supplies\n\nParaffin is delivered by boat on the first Monday of each month.\n"
)


@pytest.fixture
def keeper(runtime):
    clone = create_clone(runtime, "Keeper", "Keeps the lighthouse log.")
    ingest_now(runtime, clone.id, "lighthouse.md", NOTES.encode())
    with runtime.session() as session:
        save_version(session, clone.id, "system", "You are {{ clone_name }}. Answer in one sentence.", "short")
    return clone


def variant(runtime, clone, choice=None, label=""):
    with runtime.session() as session:
        return make_variant(session, clone, choice, label)


def test_variants_from_active_saved_and_draft_text(runtime, keeper):
    active = variant(runtime, keeper)
    assert active.versions == {"system": 1, "rag": 1, "user": 1} and active.label == "system v1 · rag v1 · user v1"
    saved = variant(runtime, keeper, {"system": 2})
    assert saved.versions["system"] == 2 and saved.prompts["system"].endswith("one sentence.")
    draft = variant(runtime, keeper, {"user": "Briefly: {{ question }}"}, "B: draft")
    assert draft.versions["user"] is None and draft.record()["drafts"] == {"user": "Briefly: {{ question }}"}
    with runtime.session() as session:
        rebuilt = variant_from_record(session, keeper, draft.record())
    assert (rebuilt.prompts, rebuilt.versions, rebuilt.label) == (draft.prompts, draft.versions, "B: draft")
    with pytest.raises(InvalidInput, match="'questoin'"):
        variant(runtime, keeper, {"user": "{{ questoin }} {{ question }}"})
    with pytest.raises(NotFound, match="no version 5"):
        variant(runtime, keeper, {"rag": 5})


def test_compare_shares_one_retrieval_between_both_variants(runtime, keeper):
    comparison = compare(runtime, keeper.id, "When is paraffin delivered?", variant(runtime, keeper),
                         variant(runtime, keeper, {"system": 2}))
    expected = retrieve(runtime, keeper, "When is paraffin delivered?").sources
    assert [(s.chunk_id, s.n) for s in comparison.sources] == [(s.chunk_id, s.n) for s in expected]
    assert comparison.a.sources == comparison.b.sources == comparison.sources
    text_a = "".join(comparison.a)
    assert "first Monday" in text_a and comparison.a.result.text == text_a
    result_b = comparison.b.run()
    for result in (comparison.a.result, result_b):
        assert result.error is None and result.output_tokens > 0 and result.input_tokens > 0
        assert result.total_ms is not None and result.first_token_ms is not None
        assert (result.provider, result.model, result.cost_usd) == ("offline", "extractive", 0.0)
    with pytest.raises(InvalidInput, match="Type a question"):
        compare(runtime, keeper.id, "   ", variant(runtime, keeper), variant(runtime, keeper))


def test_a_provider_error_is_kept_on_the_result(runtime, keeper):
    comparison = compare(runtime, keeper.id, "When is paraffin delivered?", variant(runtime, keeper),
                         variant(runtime, keeper))
    comparison.a.provider = "no-such-provider"
    result = comparison.a.run()
    assert result.text == "" and "no model provider called 'no-such-provider'" in result.error


def test_ab_run_stores_both_answers_and_keeps_the_tally(runtime, keeper):
    with runtime.session() as session:
        suite = create_question_set(session, keeper.id, "Facts",
                                    ["When is paraffin delivered?", "What lens does the lamp use?", "How often is the clock wound?"])
    seen = []
    run = run_ab(runtime, keeper.id, suite.id, variant(runtime, keeper, label="A"),
                 variant(runtime, keeper, {"system": 2}, "B"), on_result=lambda done, total, r: seen.append((done, total)))
    assert run.status == "complete" and seen == [(1, 3), (2, 3), (3, 3)]
    assert run.variant_a["versions"] == {"system": 1, "rag": 1, "user": 1}
    assert run.variant_b["versions"]["system"] == 2 and run.variant_b["label"] == "B"
    with runtime.session() as session:
        results = run_results(session, run.id)
        assert [r.question for r in results] == suite.questions
        for result in results:
            assert result.answer_a and result.answer_b and result.sources
            assert result.sources[0]["n"] == 1 and isinstance(result.sources[0]["score"], float)
            assert result.meta_a["output_tokens"] > 0 and "retrieval_ms" in result.meta_b
        assert "Fresnel" in results[1].answer_a
        assert tally(session, run.id).undecided == 3

        mark_winner(session, results[0].id, "a")
        mark_winner(session, results[1].id, "b")
        mark_winner(session, results[2].id, "b")
        mark_winner(session, results[2].id, "tie")
        counts = tally(session, run.id)
        assert (counts.a, counts.b, counts.tie, counts.undecided, counts.leader) == (1, 1, 1, 0, None)
        mark_winner(session, results[2].id, None)
        assert tally(session, run.id).undecided == 1
        with pytest.raises(InvalidInput, match="A, B or a tie"):
            mark_winner(session, results[0].id, "c")

        scored = record_scores(session, results[0].id, "faithfulness", {"a": 0.9, "b": 0.4, "reason": "cites"})
        scored = record_scores(session, results[0].id, "brevity", {"a": 0.2, "b": 0.8})
        assert set(scored.scores) == {"faithfulness", "brevity"} and scored.scores["faithfulness"]["a"] == 0.9
        with pytest.raises(InvalidInput, match="both A and B"):
            record_scores(session, results[0].id, "judge", {"a": 1})

        totals = run_totals(results)
        assert totals["a"]["output_tokens"] == sum(r.meta_a["output_tokens"] for r in results)
        assert totals["b"]["errors"] == 0 and totals["a"]["mean_total_ms"] is not None
        assert [r.id for r in list_runs(session, keeper.id)] == [run.id]
        delete_run(session, run.id)
        assert run_results(session, run.id) == []
        with pytest.raises(NotFound):
            get_run(session, run.id)


def test_a_run_refuses_another_clones_question_set(runtime, keeper):
    other = create_clone(runtime, "Other")
    with runtime.session() as session:
        suite = create_question_set(session, other.id, "Theirs", ["Hello?"])
    with pytest.raises(InvalidInput, match="another clone"):
        run_ab(runtime, keeper.id, suite.id, variant(runtime, keeper), variant(runtime, keeper))
    with runtime.session() as session:
        assert list_runs(session, keeper.id) == []


def test_a_variant_may_carry_retrieval_settings_so_offline_answers_can_differ(runtime, keeper):
    with runtime.session() as session:
        narrow = make_variant(session, keeper, None, "B: top 1", {"top_k": 1, "hybrid": True, "min_score": 0.0})
        assert narrow.retrieval == {"top_k": 1}  # only what differs from the clone is kept
        assert variant_from_record(session, keeper, narrow.record()).retrieval == {"top_k": 1}
        for bad in ({"top_k": 0}, {"min_score": 2}, {"temperature": 1}):
            with pytest.raises(InvalidInput):
                make_variant(session, keeper, None, "", bad)
    comparison = compare(runtime, keeper.id, "When is paraffin delivered?", variant(runtime, keeper), narrow)
    assert not comparison.shared and len(comparison.sources_b) == 1 < len(comparison.sources)
    assert comparison.b.sources == comparison.sources_b and comparison.a.sources == comparison.sources
    with runtime.session() as session:
        suite = create_question_set(session, keeper.id, "Facts", ["When is paraffin delivered?"])
    run = run_ab(runtime, keeper.id, suite.id, variant(runtime, keeper), narrow)
    with runtime.session() as session:
        (result,) = run_results(session, run.id)
        assert get_run(session, run.id).variant_b["retrieval"] == {"top_k": 1}
    assert len(result.meta_b["sources"]) == 1 and len(result.sources) > 1
    assert "sources" not in result.meta_a
