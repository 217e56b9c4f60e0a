"""Evaluators on real offline answers, runs (stored, cancelled, incomplete) and comparisons."""
from __future__ import annotations

import threading
from types import SimpleNamespace
from datetime import timedelta

import pytest

from core.clones import create_clone
from core.errors import InvalidInput
from core.knowledge.ingest import delete_document, ingest_now, list_documents
from core.models import EvalRun, utcnow
from core.prompts import save_version
from core.quality import runs, suites
from core.quality.compare import compare_runs

NOTES = (
    "# Lighthouse log\n\nThe Skerry Point keeper winds the clockwork every four hours. "
    "The lamp uses a first-order Fresnel lens made in 1874.\n\n"
    "# Supplies\n\nParaffin is delivered by boat on the first Monday of each month.\n"
)
CASES = [
    {"question": "When is paraffin delivered?", "must_contain": ["first Monday"], "must_not_contain": ["Friday"],
     "expected_source": {"document": "lighthouse.md"}, "reference": "Paraffin comes by boat on the first Monday."},
    {"question": "What lens does the lamp use?", "must_contain": ["Fresnel", "1874"], "regex": r"first-order"},
    {"question": "What is the keeper's favourite opera?", "should_refuse": True},
    # known bad: the facts are wrong on purpose, the answer cannot pass
    {"question": "How often is the clockwork wound?", "must_contain": ["every six hours"],
     "expected_source": {"document": "supplies.pdf", "page": 2}},
]


@pytest.fixture
def keeper(runtime):
    clone = create_clone(runtime, "Keeper", "Keeps the lighthouse log.")
    ingest_now(runtime, clone.id, "lighthouse.md", NOTES.encode())
    with runtime.session() as session:
        save_version(session, clone.id, "system", "You are {{ clone_name }}. Answer in one sentence.", "short")
        suite = suites.create_suite(session, clone.id, "Log", CASES, {"judge": "none", "latency_ms": 60000})
    return SimpleNamespace(id=clone.id, suite_id=suite.id)


def test_a_run_scores_good_and_bad_answers_with_reasons(runtime, keeper):
    seen = []
    run = runs.run_suite(runtime, keeper.id, keeper.suite_id, on_progress=lambda d, t, r: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert run.status == "complete" and run.case_count == 4 and run.judge == ""
    assert run.prompt_versions == {"system": 1, "rag": 1, "user": 1}
    with runtime.session() as session:
        paraffin, lens, opera, clockwork = runs.run_results(session, run.id)
    assert "first Monday" in paraffin.answer and paraffin.citations and paraffin.passed, paraffin.scores
    for name in ("must_contain", "must_not_contain", "expected_source", "citations", "refusal", "grounded",
                 "similarity", "latency"):
        assert paraffin.scores[name]["passed"], (name, paraffin.scores[name])
        assert paraffin.scores[name]["reason"]
    assert paraffin.scores["similarity"]["score"] > 0.6
    assert paraffin.scores["grounded"]["reason"].startswith("1 of 1 sentences") or paraffin.scores["grounded"]["score"] == 1
    assert lens.passed and lens.scores["regex"]["passed"]
    assert opera.passed and opera.scores["refusal"]["reason"] == "Says it does not know, as it should."
    assert "grounded" not in opera.scores
    assert not clockwork.passed
    assert clockwork.scores["must_contain"] == {"score": 0.0, "passed": False,
                                                "reason": "Mentions 0 of 1; missing 'every six hours'."}
    assert clockwork.scores["expected_source"]["reason"] == "'supplies.pdf' page 2 was not among the retrieved sources."
    assert run.pass_rate == 0.75 and 0 < run.scores["must_contain"] < 1
    assert run.duration_ms > 0 and run.cost_usd == 0.0


def test_an_answer_that_refuses_when_it_should_not_fails(runtime, keeper):
    with runtime.session() as session:
        suite = suites.create_suite(session, keeper.id, "Wrong", [
            {"question": "What is the keeper's favourite opera?"},
            {"question": "When is paraffin delivered?", "should_refuse": True}], {"judge": "none"})
    run = runs.run_suite(runtime, keeper.id, suite.id)
    with runtime.session() as session:
        opera, paraffin = runs.run_results(session, run.id)
    assert not opera.passed and opera.scores["refusal"]["reason"].startswith("Says it does not know, but")
    assert not paraffin.passed and paraffin.scores["refusal"]["reason"].startswith("Answers although")
    assert run.pass_rate == 0.0


def test_a_draft_variant_is_recorded(runtime, keeper):
    run = runs.run_suite(runtime, keeper.id, keeper.suite_id, choice={"user": "Briefly: {{ question }}"}, label="draft")
    assert run.prompt_versions == {"system": 1, "rag": 1, "user": None} and run.label == "draft"
    assert run.variant["drafts"] == {"user": "Briefly: {{ question }}"}
    with pytest.raises(InvalidInput, match="question"):
        runs.run_suite(runtime, keeper.id, keeper.suite_id, choice={"user": "no slot"})


def test_comparison_puts_regressions_first(runtime, keeper):
    base = runs.run_suite(runtime, keeper.id, keeper.suite_id, choice={"system": 1})
    (document,) = list_documents(runtime, keeper.id)
    delete_document(runtime, document.id)  # the knowledge is gone: answers that relied on it get worse
    after = runs.run_suite(runtime, keeper.id, keeper.suite_id, choice={"system": 2})
    report = compare_runs(runtime, base.id, after.id)
    changes = [row.change for row in report.rows]
    assert changes[:2] == ["worse", "worse"] and "better" not in changes
    assert changes == sorted(changes, key=["worse", "better", "same", "added", "removed"].index)
    paraffin = next(row for row in report.rows if row.question.startswith("When is paraffin"))
    assert paraffin.change == "worse" and "must_contain now fails" in paraffin.flipped
    assert report.pass_rate_delta < 0 and report.criterion_deltas["must_contain"] < 0
    assert report.layer_changes == {"system": (1, 2)}


def test_cancel_keeps_what_was_finished_and_a_dead_run_reads_incomplete(runtime, keeper):
    cancel = threading.Event()
    run = runs.run_suite(runtime, keeper.id, keeper.suite_id,
                         on_progress=lambda done, total, result: cancel.set() if done == 2 else None, cancel=cancel)
    assert run.status == "cancelled" and run.pass_rate is not None
    with runtime.session() as session:
        assert len(runs.run_results(session, run.id)) == 2
        dead = runs.prepare_run(runtime, keeper.id, keeper.suite_id)
        row = session.get(EvalRun, dead.id)
        row.updated_at = utcnow() - timedelta(minutes=10)
        session.add(row)
        session.commit()
        assert runs.get_run(session, dead.id).status == "incomplete"


def test_a_case_that_breaks_midway_marks_the_run_incomplete(runtime, keeper, monkeypatch):
    calls = []

    def boom(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("process died")
        return original(*args, **kw)

    original = runs._run_case
    monkeypatch.setattr(runs, "_run_case", boom)
    with pytest.raises(RuntimeError):
        runs.run_suite(runtime, keeper.id, keeper.suite_id)
    with runtime.session() as session:
        (run,) = runs.list_runs(session, keeper.id)
        assert run.status == "incomplete" and run.error.startswith("The run stopped unexpectedly")
        assert len(runs.run_results(session, run.id)) == 1


def test_a_run_needs_active_cases_of_its_own_clone(runtime, keeper):
    with runtime.session() as session:
        empty = suites.create_suite(session, keeper.id, "Empty")
        other = create_clone(runtime, "Other")
    with pytest.raises(InvalidInput, match="no active test cases"):
        runs.run_suite(runtime, keeper.id, empty.id)
    with pytest.raises(InvalidInput, match="another clone"):
        runs.run_suite(runtime, other.id, keeper.suite_id)


def test_background_run_reports_progress(runtime, keeper):
    handle = runs.start_run(runtime, keeper.id, keeper.suite_id)
    handle.thread.join(60)
    assert handle.finished and handle.error is None and handle.done == handle.total == 4
    with runtime.session() as session:
        assert runs.get_run(session, handle.run_id).status == "complete"
