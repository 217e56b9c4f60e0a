"""The kind of answer a question asks for (a date, a share, a length of time, a size): which
questions ask for one, which texts hold one, the rerank's lift for passages that hold it, and the
version numbers a passage must mention."""
from __future__ import annotations

import pytest

from core.clones import create_clone
from core.knowledge import rerank as rerank_module
from core.knowledge.answer_types import DATE, DURATION, SHARE, SIZE, asked, holds, unnamed_versions
from core.knowledge.ingest import ingest_now
from core.knowledge.rerank import W_ANSWER, Candidate, lift_answers
from core.knowledge.search import retrieve


def test_questions_that_ask_for_a_date_a_share_or_a_length_of_time():
    assert asked("On what date was the kettle recalled?") == [DATE]
    assert asked("When did the recall end?") == [DATE]
    assert asked("What share of the returned kettles were faulty?") == [SHARE]
    assert asked("How soon should a new team ship its first version?") == [DURATION]
    assert asked("How long does the warranty last?") == [DURATION]
    assert asked("What is the largest file the kettle app accepts?") == [SIZE]
    assert asked("Why is the kettle descaled with vinegar?") == []
    assert asked("How often should I descale?") == []  # a frequency, not a share


def test_texts_that_hold_the_kind_asked_for():
    assert holds("Control flow in finally was a bug in 73% in our sample (149 of 203).", [SHARE])
    assert holds("149 of 203 instances were bugs.", [SHARE])
    assert holds("Ship a first version no longer than three months from the beginning.", [DURATION])
    assert holds("The warranty lasts 24 months.", [DURATION])
    assert holds("It was accepted by Paul Moore on July 31, 2019.", [DATE])
    assert holds("Uploads are limited to 100 MB; larger ones need 1.5 GiB of quota.", [SIZE])
    assert not holds("The warranty covers the heating element.", [SHARE, DURATION, DATE])


def test_the_best_candidates_that_hold_the_kind_asked_for_are_lifted():
    vague = Candidate({"id": "vague"}, 0.62, rerank=0.62)
    timed = Candidate({"id": "timed"}, 0.60, rerank=0.60)
    far = Candidate({"id": "far"}, 0.30, rerank=0.30)
    lifted = lift_answers([vague, timed, far], [False, True])  # only the best two were checked
    assert [c.row["id"] for c in lifted] == ["timed", "vague", "far"]
    assert timed.rerank == pytest.approx(0.60 + W_ANSWER) and (timed.answer, vague.answer, far.answer) == (1, 0, 0)


def test_retrieval_lifts_a_passage_holding_the_length_of_time_asked_for(runtime, monkeypatch):
    clone = create_clone(runtime, "Kettle", top_k=3)
    assert ingest_now(runtime, clone.id, "kettle.txt", KETTLE.encode()).status == "ready"
    question = "How long does the kettle warranty last?"  # asks for a length of time: "24 months" holds one

    def warranty_score():
        return next(s.rerank for s in retrieve(runtime, clone, question).sources if "24 months" in s.text)

    lifted = warranty_score()
    monkeypatch.setattr(rerank_module, "W_ANSWER", 0.0)
    assert lifted == pytest.approx(warranty_score() + W_ANSWER, abs=1e-3)


KETTLE = ("Kettle Manual\n\nCleaning\n========\n\nDescale the kettle with white vinegar.\n\n"
          "Warranty\n========\n\nThe kettle warranty lasts 24 months from the date of purchase.\n")


def test_a_version_the_question_names_must_be_mentioned():
    assert unnamed_versions("On what date was Python 3.14 released?", "Python 3.12 was released in 2023.") == ["3.14"]
    assert unnamed_versions("On what date was Python 3.14 released?", "Python 3.14.0 came out in 2025.") == []
    assert unnamed_versions("What changed in metadata 1.2?", "Metadata 11.2 and 1.21 differ.") == ["1.2"]
    assert unnamed_versions("Which year had the most rain?", "1999") == []
