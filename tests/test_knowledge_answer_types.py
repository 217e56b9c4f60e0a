"""The kind of answer a question asks for: which questions ask for one, which texts hold one, the
rerank's lift for passages that hold it, and the version numbers a passage must mention."""
from __future__ import annotations

from core.knowledge.answer_types import DATE, DURATION, SHARE, asked, holds, unnamed_versions
from core.knowledge.rerank import Candidate, rerank
from core.knowledge.search import Lexical
from core.knowledge.signals import DocumentSignal


def test_questions_that_ask_for_a_date_a_share_or_a_length_of_time():
    assert asked("On what date was the kettle recalled?") == [DATE]
    assert asked("When did the recall end?") == [DATE]
    assert asked("What share of the returned kettles were faulty?") == [SHARE]
    assert asked("How soon should a new team ship its first version?") == [DURATION]
    assert asked("How long does the warranty last?") == [DURATION]
    assert asked("Why is the kettle descaled with vinegar?") == []
    assert asked("How often should I descale?") == []  # a frequency, not a share


def test_texts_that_hold_the_kind_asked_for():
    assert holds("Control flow in finally was a bug in 73% in our sample (149 of 203).", [SHARE])
    assert holds("149 of 203 instances were bugs.", [SHARE])
    assert holds("Ship a first version no longer than three months from the beginning.", [DURATION])
    assert holds("The warranty lasts 24 months.", [DURATION])
    assert holds("It was accepted by Paul Moore on July 31, 2019.", [DATE])
    assert not holds("The warranty covers the heating element.", [SHARE, DURATION, DATE])


def _candidate(text: str, cosine: float) -> Candidate:
    return Candidate({"id": text[:8], "document_id": "d", "heading": "", "text": text}, cosine)


def test_the_rerank_lifts_a_passage_that_holds_the_kind_of_answer_asked_for():
    vague = _candidate("A new kettle model gets its first firmware update from the support team.", 0.62)
    timed = _candidate("The support team ships a new model's first firmware update within six weeks.", 0.60)
    Lexical("How soon does a new kettle get its first firmware update?", ["firmwar"], DocumentSignal({}),
            None).describe([vague, timed])
    assert (vague.answer, timed.answer) == (0.0, 1.0)
    assert [c.row["id"] for c in rerank([vague, timed])] == [timed.row["id"], vague.row["id"]]
    neutral = [_candidate(vague.row["text"], 0.62), _candidate(timed.row["text"], 0.60)]
    Lexical("Who ships the firmware updates?", ["firmwar"], DocumentSignal({}), None).describe(neutral)
    assert [c.answer for c in neutral] == [0.0, 0.0]  # nothing asked for: nothing lifted


def test_a_version_the_question_names_must_be_mentioned():
    assert unnamed_versions("On what date was Python 3.14 released?", "Python 3.12 was released in 2023.") == ["3.14"]
    assert unnamed_versions("On what date was Python 3.14 released?", "Python 3.14.0 came out in 2025.") == []
    assert unnamed_versions("What changed in metadata 1.2?", "Metadata 11.2 and 1.21 differ.") == ["1.2"]
    assert unnamed_versions("Which year had the most rain?", "1999") == []
