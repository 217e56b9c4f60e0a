"""Suites: CRUD and the table editor, CSV/JSON round trip, bad files (one plain line each), drafts, bundles."""
from __future__ import annotations

import json

import pytest

from core.bundles import export_bundle, import_bundle
from core.clones import create_clone
from core.errors import InvalidInput
from core.knowledge.ingest import ingest_now
from core.quality import suites
from core.quality.drafts import add_drafts, draft_cases

CASES = [
    {"question": "When is paraffin delivered?", "must_contain": ["first Monday", "boat"], "must_not_contain": ["Friday"],
     "expected_source": {"document": "log.pdf", "page": 3}, "reference": "By boat, on the first Monday."},
    {"question": "What's the keeper's opera, \"Tosca\", about?", "should_refuse": True},
    {"question": "Which lens, exactly?", "regex": r"Fresnel|lens", "expected_source": {"document": "notes, v2.md"}},
]


@pytest.fixture
def clone(runtime):
    return create_clone(runtime, "Keeper", "Keeps the lighthouse log.")


def test_json_and_csv_round_trip(runtime, clone):
    with runtime.session() as session:
        suite = suites.create_suite(session, clone.id, "Log", CASES)
        cases = suites.suite_cases(session, suite.id)
        as_json, as_csv = suites.export_json(cases), suites.export_csv(cases)
    assert json.loads(as_json) == CASES
    assert suites.parse_file(as_json.encode(), "log.json") == suites.clean_cases(CASES)
    assert suites.parse_file(as_csv.encode(), "log.csv") == suites.clean_cases(CASES)
    assert as_csv.splitlines()[0] == "question,must_contain,must_not_contain,regex,expected_source,should_refuse,reference"
    assert "first Monday|boat" in as_csv and "log.pdf#3" in as_csv


@pytest.mark.parametrize("name, data, message", [
    ("x.json", b"[{\"question\": \"a\"},", "This file is not valid JSON (line 1); fix it and import it again."),
    ("x.json", b"{\"question\": \"a\"}", "This JSON file must be a list of test cases, each an object with a 'question'."),
    ("x.json", b"[{\"must_contain\": [\"a\"]}]", "Case 1 has no question; fill it in or delete the row."),
    ("x.json", b"[{\"question\": \"a\", \"must_contain\": {\"x\": 1}}]", "Case 1's must_contain must be a list of phrases."),
    ("x.json", b"[{\"question\": \"a\", \"expected_source\": {\"document\": \"d\", \"page\": 0}}]",
     "Case 1's expected page must be a whole number from 1."),
    ("x.json", b"[{\"question\": \"a\", \"regex\": \"(\"}]", "Case 1's regex is not a valid pattern"),
    ("x.json", b"[{\"question\": \"a\"}, {\"question\": \"A\"}]", "Case 2 repeats the question 'A'; keep one of them."),
    ("x.json", b"[]", "There are no test cases to add; write at least one question."),
    ("x.csv", b"prompt,answer\nhi,there\n", "This CSV has no 'question' column; the first row must name the columns."),
    ("x.csv", b"question,colour\nhi,red\n", "This CSV has a column the studio does not know ('colour')"),
    ("x.csv", b"question,should_refuse\nhi,maybe\n", "Case 1's should_refuse must be true or false."),
    ("x.csv", b"question\nhi,extra\n", "Row 2 of this CSV has more cells than columns; quote cells that contain commas."),
    ("x.csv", b"\xff\xfe\x00q", "This file is not UTF-8 text; save it as UTF-8 CSV or JSON and import it again."),
    ("x.txt", b"question\nhi\n", "Import a .csv or .json file of test cases."),
])
def test_bad_files_give_one_plain_line(name, data, message):
    with pytest.raises(InvalidInput) as caught:
        suites.parse_file(data, name)
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text and "Traceback" not in text


def test_table_editor_adds_edits_and_deletes_rows_and_keeps_drafts(runtime, clone):
    with runtime.session() as session:
        suite = suites.create_suite(session, clone.id, "Log", CASES[:2])
        first, second = suites.suite_cases(session, suite.id)
        suites.add_cases(session, suite.id, [{"question": "A draft?"}], "draft")
        rows = [{**suites.case_record(first), "id": first.id, "must_contain": "first Monday"},
                {"question": "A brand new one?"}]
        edited = suites.replace_cases(session, suite.id, rows)
        assert [c.question for c in edited] == ["When is paraffin delivered?", "A brand new one?"]
        assert edited[0].id == first.id and edited[0].must_contain == ["first Monday"]
        assert [c.question for c in suites.suite_cases(session, suite.id, "draft")] == ["A draft?"]
        with pytest.raises(InvalidInput, match="Case 2 has no question"):
            suites.replace_cases(session, suite.id, [{"question": "ok"}, {"question": " "}])
        assert len(suites.suite_cases(session, suite.id)) == 2  # nothing changed by the failed save
        with pytest.raises(InvalidInput, match="already has a test suite"):
            suites.create_suite(session, clone.id, "log")
        with pytest.raises(InvalidInput, match="between 1 and 5"):
            suites.update_settings(session, suite.id, {"k": 9})
        assert suites.suite_settings(suites.update_settings(session, suite.id, {"k": 3}))["k"] == 3
        assert suites.find_suite(session, clone.id, "LOG").id == suite.id


def test_drafts_come_from_the_documents_and_count_once_accepted(runtime, clone):
    ingest_now(runtime, clone.id, "lighthouse.md", (
        b"# Lighthouse log\n\nThe Skerry Point keeper winds the clockwork every four hours through the night.\n\n"
        b"# Lens\n\nThe lamp uses a first-order Fresnel lens that was made in 1874 in Paris.\n\n"
        b"# Supplies\n\nParaffin is delivered by boat on the first Monday of each month.\n"))
    proposed = draft_cases(runtime, clone.id)
    grounded = [c for c in proposed if not c.get("should_refuse")]
    refusals = [c for c in proposed if c.get("should_refuse")]
    assert len(grounded) >= 2 and len(refusals) == 2
    lens = next(c for c in grounded if "1874" in c["must_contain"])
    assert lens["question"] == "According to lighthouse, the lamp uses a first-order Fresnel lens that was made in what in Paris?"
    assert lens["expected_source"] == {"document": "lighthouse.md"} and "1874" in lens["reference"]
    with runtime.session() as session:
        suite = suites.create_suite(session, clone.id, "Drafted")
    added = add_drafts(runtime, clone.id, suite.id)
    assert add_drafts(runtime, clone.id, suite.id) == []  # no duplicates the second time
    with runtime.session() as session:
        assert suites.suite_cases(session, suite.id) == []  # drafts do not count yet
        suites.accept_draft(session, added[0].id, {"must_contain": ["Fresnel"]})
        suites.delete_case(session, added[1].id)
        (active,) = suites.suite_cases(session, suite.id)
        assert active.must_contain == ["Fresnel"] and active.status == "active"
        assert len(suites.suite_cases(session, suite.id, "draft")) == len(added) - 2


def test_bundles_carry_suites_with_their_cases_and_drafts(runtime, clone, tmp_path):
    with runtime.session() as session:
        suite = suites.create_suite(session, clone.id, "Log", CASES, {"k": 2, "judge": "none"})
        suites.add_cases(session, suite.id, [{"question": "Drafted?"}], "draft")
    data = export_bundle(runtime, clone.id)
    copy = import_bundle(runtime, data, wait=True)
    with runtime.session() as session:
        (restored,) = suites.list_suites(session, copy.id)
        assert restored.name == "Log" and suites.suite_settings(restored)["k"] == 2
        assert [suites.case_record(c) for c in suites.suite_cases(session, restored.id)] == CASES
        assert [c.question for c in suites.suite_cases(session, restored.id, "draft")] == ["Drafted?"]
