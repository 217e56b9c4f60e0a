"""The Prompts page through AppTest: edit and save a version, variable check, diff, activate,
playground, question sets and an A/B run with verdicts."""
from __future__ import annotations

import re


import pytest
from streamlit.testing.v1 import AppTest

from core.ab import list_runs, run_results
from core.clones import create_clone, update_clone
from core.knowledge.ingest import ingest_now
from core.prompts import active_versions, history, save_version
from core.question_sets import list_question_sets
from tests.studio_app import app, no_exception, studio_runtime, texts  # noqa: F401

TABS = {
    "edit": ":material/edit: Editor", "history": ":material/history: History & diff",
    "play": ":material/compare_arrows: Playground", "sets": ":material/quiz: Question sets",
    "runs": ":material/science: A/B runs",
}
NOTES = (
    "# Lighthouse log\n\nThe Skerry Point keeper winds the clockwork every four hours. "
    "The lamp uses a first-order Fresnel lens made in 1874.\n\n"
    "# Supplies\n\nParaffin is delivered by boat on the first Monday of each month.\n"
)


@pytest.fixture
def open_page(app):  # noqa: F811 (the fixture clears the cached runtime)
    def run(page: str, query: dict | None = None) -> AppTest:
        at = app(page, query)
        no_exception(at)
        return at

    return run


def open_tab(at, name):
    """Switch the page's tabs (they track the open one, and only the open one runs)."""
    at.session_state["prompts.tab"] = TABS[name]
    at.run()
    no_exception(at)
    return at


def labelled(elements, label):
    matches = [e for e in elements if e.label == label]
    assert matches, f"no {label!r} in {[e.label for e in elements]}"
    return matches[0]


def click(at, label):
    labelled(at.button, label).click().run()
    no_exception(at)
    return at


@pytest.fixture
def keeper(studio_runtime):  # noqa: F811
    clone = create_clone(studio_runtime, "Keeper", "Keeps the lighthouse log.")
    ingest_now(studio_runtime, clone.id, "lighthouse.md", NOTES.encode())
    return clone


def test_save_a_version_diff_it_and_activate_it(open_page, studio_runtime, keeper):  # noqa: F811
    at = open_page("app_pages/prompts.py", {"clone": keeper.id})
    assert "Active versions: System v1" in texts(at)
    assert at.download_button[0].label == "Export clone"
    editor = labelled(at.text_area, "System prompt")
    assert editor.value.startswith("You are {{ clone_name }}.")

    editor.set_value("You are {{ clone_name }}.\nAnswer in one short sentence.").run()
    assert "variables OK" in texts(at)
    labelled(at.text_input, "Commit message").set_value("One sentence").run()
    click(at, "Save version")
    assert "Saved System v2." in texts(at)
    with studio_runtime.session() as session:
        (newest, oldest) = history(session, keeper.id, "system")
        assert (newest.version, newest.parent_version, newest.message, newest.active) == (2, 1, "One sentence", False)

    open_tab(at, "history")
    side_by_side = at.dataframe[-1].value
    assert list(side_by_side.columns) == ["#", "v1", "# ", "v2"]
    assert "Answer in one short sentence." in set(side_by_side["v2"])
    assert "1 line added" in texts(at) or "2 lines added" in texts(at)
    labelled(at.button_group, "View").set_value("Unified").run()
    unified = at.code[-1].value
    assert unified.startswith("--- system v1\n+++ system v2") and "+Answer in one short sentence." in unified

    labelled(at.selectbox, "Version to activate").set_value(2).run()
    click(at, "Activate")
    assert "now answers with System v2" in texts(at)
    with studio_runtime.session() as session:
        assert active_versions(session, keeper.id)["system"] == 2


def test_a_misspelt_variable_is_named_before_saving(open_page, studio_runtime, keeper):  # noqa: F811
    at = open_page("app_pages/prompts.py", {"clone": keeper.id})
    labelled(at.text_area, "System prompt").set_value("You are {{ clone_nmae }}.").run()
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any("'clone_nmae'" in e and "Did you mean 'clone_name'?" in e for e in errors), errors
    labelled(at.text_input, "Commit message").set_value("typo").run()
    click(at, "Save and activate")
    with studio_runtime.session() as session:
        assert [r.version for r in history(session, keeper.id, "system")] == [1]


def test_rag_layer_refuses_a_missing_sources_slot(open_page, studio_runtime, keeper):  # noqa: F811
    at = open_page("app_pages/prompts.py", {"clone": keeper.id})
    labelled(at.button_group, "Layer").set_value("rag").run()
    labelled(at.text_area, "RAG prompt").set_value("Use the documents.").run()
    assert any("sources" in e.value for e in at.error)


def test_playground_streams_two_variants_on_the_same_sources(open_page, studio_runtime, keeper):  # noqa: F811
    with studio_runtime.session() as session:
        save_version(session, keeper.id, "system", "You are {{ clone_name }}, brief.", "brief")
    at = open_tab(open_page("app_pages/prompts.py", {"clone": keeper.id}), "play")
    picks = [s for s in at.selectbox if s.label == "Variant B"]
    picks[0].set_value(2).run()
    labelled(at.text_input, "Question").set_value("When is paraffin delivered?")  # a form: sent on submit
    click(at, "Compare")
    page = texts(at).replace("\\", "")
    assert page.count("first Monday") >= 2
    assert "A: Active (v1)" in page and "B: v2 · brief" in page
    assert "source retrieved in" in page or "sources retrieved in" in page
    assert len(re.findall(r"^offline · \d", page, re.MULTILINE)) >= 2  # the human meta line, per answer
    assert any(e.label.startswith("Shared sources") for e in at.expander)


def test_offline_the_prompts_page_says_why_versions_look_alike_and_what_still_changes_answers(
        open_page, studio_runtime, keeper):  # noqa: F811
    at = open_page("app_pages/prompts.py", {"clone": keeper.id})
    page = texts(at)
    assert "Offline mode: prompt versions make no visible difference here." in page
    for words in ("ignores style", "top k", "hybrid search", "minimum relevance", "Ollama", "llama.cpp"):
        assert words in page
    open_tab(at, "play")
    assert "unless their retrieval settings differ" in texts(at)
    update_clone(studio_runtime, keeper.id, llm_provider="openai_compatible", llm_model="llama3.1:8b")
    at = open_page("app_pages/prompts.py", {"clone": keeper.id})
    assert "Offline mode" not in texts(at)


def test_the_playground_compares_retrieval_settings_too(open_page, studio_runtime, keeper):  # noqa: F811
    at = open_tab(open_page("app_pages/prompts.py", {"clone": keeper.id}), "play")
    labelled(at.selectbox, "Variant B").set_value("active").run()
    at.slider(key=f"prompts.{keeper.id}.play.b.retrieval.top_k").set_value(1).run()
    labelled(at.text_input, "Question").set_value("When is paraffin delivered?")
    click(at, "Compare")
    page = texts(at)
    assert "B: Active (v1) · top k 1" in page
    labels = [e.label for e in at.expander]
    assert any(label.startswith("A's sources") for label in labels)
    assert "B's sources · 1 passage" in labels


def test_question_set_then_ab_run_with_a_verdict(open_page, studio_runtime, keeper):  # noqa: F811
    at = open_tab(open_page("app_pages/prompts.py", {"clone": keeper.id}), "sets")
    labelled(at.text_input, "Name").set_value("Facts")
    labelled(at.text_area, "Questions, one per line").set_value("When is paraffin delivered?\nWhat lens is used?")
    click(at, "Save question set")
    assert "Saved the question set Facts." in texts(at)
    with studio_runtime.session() as session:
        (suite,) = list_question_sets(session, keeper.id)
        assert suite.questions == ["When is paraffin delivered?", "What lens is used?"]

    open_tab(at, "runs")
    click(at, "Run A/B")
    assert "The A/B run is complete" in texts(at)
    with studio_runtime.session() as session:
        (run,) = list_runs(session, keeper.id)
        assert run.status == "complete" and len(run_results(session, run.id)) == 2
    labelled(at.button, "A is better").click().run()
    no_exception(at)
    with studio_runtime.session() as session:
        assert [r.winner for r in run_results(session, run.id)] == ["a", None]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["A wins"] == "1" and metrics["Undecided"] == "1"


def test_an_unsaved_draft_survives_tabs_and_runs_in_the_playground(open_page, studio_runtime, keeper):  # noqa: F811
    at = open_page("app_pages/prompts.py", {"clone": keeper.id})
    draft = "You are {{ clone_name }}. Reply like a ship's log."
    labelled(at.text_area, "System prompt").set_value(draft).run()
    open_tab(at, "play")
    labelled(at.selectbox, "Variant B").set_value("draft").run()
    labelled(at.text_input, "Question").set_value("What lens does the lamp use?")
    click(at, "Compare")
    assert "B: Draft in the editor" in texts(at) and texts(at).count("Fresnel") >= 2
    open_tab(at, "edit")
    assert labelled(at.text_area, "System prompt").value == draft
    with studio_runtime.session() as session:
        assert [r.version for r in history(session, keeper.id, "system")] == [1]
