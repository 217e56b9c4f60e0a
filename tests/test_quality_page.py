"""The Quality page through AppTest: empty state, a suite with its files, drafts, a run with
progress, two runs compared (regressions first), blind A/B votes with agreement, and the
Prompts page's "run a test suite on this version" link."""
from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.ab import make_variant, run_ab, run_results
from core.clones import create_clone
from core.knowledge.ingest import delete_document, ingest_now, list_documents
from core.prompts import save_version
from core.quality import runs, suites
from tests.studio_app import app, no_exception, studio_runtime, texts  # noqa: F401
from tests.test_prompts_page import click, labelled

PAGE = "app_pages/quality.py"
TABS = {"suite": ":material/checklist: Suite", "drafts": ":material/auto_awesome: Drafts",
        "run": ":material/play_circle: Run", "compare": ":material/difference: Compare",
        "votes": ":material/how_to_vote: Blind A/B"}
NOTES = (
    "# Lighthouse log\n\nThe Skerry Point keeper winds the clockwork every four hours through the night.\n\n"
    "# Supplies\n\nParaffin is delivered by boat on the first Monday of each month.\n"
)
CASES = [{"question": "When is paraffin delivered?", "must_contain": ["first Monday"]},
         {"question": "What is the keeper's favourite opera?", "should_refuse": True}]


@pytest.fixture
def keeper(studio_runtime):  # noqa: F811
    clone = create_clone(studio_runtime, "Keeper", "Keeps the lighthouse log.")
    ingest_now(studio_runtime, clone.id, "lighthouse.md", NOTES.encode())
    return clone


def page(app, clone, query=None):  # noqa: F811
    at = app(PAGE, {"clone": clone.id, **(query or {})})
    no_exception(at)
    return at


def tab(at: AppTest, name: str) -> AppTest:
    at.session_state["quality.tab"] = TABS[name]
    at.run()
    no_exception(at)
    return at


def test_empty_state_then_a_new_suite(app, studio_runtime, keeper):  # noqa: F811
    at = page(app, keeper)
    assert "No test suites yet." in texts(at)
    labelled(at.text_input, "Suite name").set_value("Supplies")
    click(at, "Create suite")
    assert "Created the suite Supplies." in texts(at)
    with studio_runtime.session() as session:
        (suite,) = suites.list_suites(session, keeper.id)
    assert suite.name == "Supplies"
    assert labelled(at.selectbox, "Test suite").value == suite.id


def test_suite_table_downloads_and_drafts(app, studio_runtime, keeper):  # noqa: F811
    with studio_runtime.session() as session:
        suite = suites.create_suite(session, keeper.id, "Supplies", CASES)
    at = page(app, keeper)
    downloads = {d.label: d for d in at.get("download_button")}
    assert set(downloads) >= {"Download CSV", "Download JSON"}
    assert "Suite settings" in at.expander[0].label
    click(at, "Save cases")  # saving the untouched table keeps every case
    assert "Saved 2 cases." in texts(at)

    tab(at, "drafts")
    assert "No drafts waiting." in texts(at)
    click(at, "Draft cases from my documents")
    assert "Drafted" in texts(at)
    with studio_runtime.session() as session:
        drafted = suites.suite_cases(session, suite.id, "draft")
    assert drafted and any(c.should_refuse for c in drafted)
    labelled(at.button, "Accept").click().run()
    no_exception(at)
    labelled(at.button, "Drop").click().run()
    no_exception(at)
    with studio_runtime.session() as session:
        assert len(suites.suite_cases(session, suite.id)) == 3
        assert len(suites.suite_cases(session, suite.id, "draft")) == len(drafted) - 2


def finish_run(at: AppTest, clone, runtime) -> AppTest:
    """Rerun the page (as its progress fragment does every half second) until the background run is done."""
    for _ in range(60):
        with runtime.session() as session:
            running = [r for r in runs.list_runs(session, clone.id) if r.status == "running"]
        if not running and f"quality.{clone.id}.handle" not in at.session_state:
            return at
        time.sleep(0.25)
        at.run()
        no_exception(at)
    raise AssertionError("the run did not finish")


def test_run_with_progress_then_compare_two_runs(app, studio_runtime, keeper):  # noqa: F811
    with studio_runtime.session() as session:
        suites.create_suite(session, keeper.id, "Supplies", CASES, {"judge": "none"})
        save_version(session, keeper.id, "system", "You are {{ clone_name }}. Be brief.", "brief")
    at = tab(page(app, keeper), "run")
    assert "No runs of this suite yet" in texts(at)
    click(at, "Run suite")
    finish_run(at, keeper, studio_runtime)
    assert "The run finished; its results are below." in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Pass rate"] == "100%" and metrics["Cases"] == "2 / 2"
    assert any(e.label.startswith("Passed · When is paraffin delivered?") for e in at.expander)

    (document,) = list_documents(studio_runtime, keeper.id)
    delete_document(studio_runtime, document.id)
    labelled(at.selectbox, "System").set_value(2).run()
    click(at, "Run suite")
    finish_run(at, keeper, studio_runtime)
    tab(at, "compare")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Got worse"] == "1" and metrics["Pass rate"] == "50%"
    rows = at.dataframe[-1].value
    assert rows.iloc[0]["Change"] == "🔻 Worse" and rows.iloc[0]["Question"] == "When is paraffin delivered?"
    assert "Layers changed: System v1 → v2" in texts(at)


def test_blind_votes_and_agreement(app, studio_runtime, keeper):  # noqa: F811
    with studio_runtime.session() as session:
        suite = suites.create_suite(session, keeper.id, "Supplies", CASES)
        a, b = make_variant(session, keeper), make_variant(session, keeper, {"user": "Briefly: {{ question }}"})
    ab_run = run_ab(studio_runtime, keeper.id, suite.id, a, b)
    at = tab(page(app, keeper), "votes")
    page_text = texts(at)
    assert "Left" in page_text and "Right" in page_text and "not enough votes" in page_text
    assert "Add an OpenAI or Anthropic key" in page_text
    labelled(at.button, "Left is better").click().run()
    no_exception(at)
    with studio_runtime.session() as session:
        first = run_results(session, ab_run.id)[0]
    assert first.winner == first.shown_first  # stored as the variant that was shown on the left
    assert {m.label for m in at.metric} >= {"Judge vs people (κ)", "Votes compared (n)", "Kept its verdict when swapped"}


def test_prompts_history_links_to_a_run_on_that_version(app, studio_runtime, keeper):  # noqa: F811
    with studio_runtime.session() as session:
        suites.create_suite(session, keeper.id, "Supplies", CASES)
        save_version(session, keeper.id, "system", "You are {{ clone_name }}. Be brief.", "brief")
    at = app("app_pages/prompts.py", {"clone": keeper.id})
    at.session_state["prompts.tab"] = ":material/history: History & diff"
    at.run()
    labelled(at.selectbox, "Version to activate").set_value(2).run()
    click(at, "Run a test suite on v2")
    assert at.query_params.get("system_version") in ("2", ["2"])
    assert labelled(at.selectbox, "System").value == 2
    assert labelled(at.button, "Run suite")
