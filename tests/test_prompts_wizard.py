"""The New clone wizard through AppTest: from a template, by duplicating, from scratch."""
from __future__ import annotations

from core.bundles import export_bundle
from core.clones import create_clone, find_clone
from core.prompts import active_prompts, active_versions, history_records, save_version
from core.template_library import get_template
from tests.studio_app import app, no_exception, studio_runtime, texts  # noqa: F401
from tests.test_prompts_page import click, labelled, open_page  # noqa: F401


def by_key(at, key):
    at.button(key=key).click().run()
    no_exception(at)
    return at


def test_create_from_a_template_with_search_preview_and_variables(open_page, studio_runtime):  # noqa: F811
    at = open_page("app_pages/new_clone.py")
    assert "How to start" in texts(at)
    by_key(at, "method-template")
    assert "13 templates" in texts(at)
    labelled(at.selectbox, "Category").set_value("Wellbeing").run()
    assert "4 templates" in texts(at)
    labelled(at.selectbox, "Category").set_value("All categories").run()
    labelled(at.text_input, "Search templates").set_value("grandparent").run()
    assert "1 template" in texts(at) and "Family Memory Keeper" in texts(at)

    by_key(at, "preview-family-memory-keeper")
    assert any("Speak warmly in the first person" in code.value for code in at.code)
    by_key(at, "preview-use")

    labelled(at.text_input, "Name").set_value("Nana Rose")
    labelled(at.text_input, "Person name").set_value("Rose")
    click(at, "Next: review")
    assert any("memories of Rose" in code.value for code in at.code)
    facts = at.dataframe[0].value
    assert dict(zip(facts["Setting"], facts["Value"]))["Template"] == "Family Memory Keeper"

    click(at, "Create clone")
    with studio_runtime.session() as session:
        clone = find_clone(session, "Nana Rose")
        active = active_prompts(session, clone.id)
    assert (clone.created_from, clone.template_id, clone.avatar) == ("template", "family-memory-keeper", "🕯️")
    assert clone.variables["person_name"] == "Rose"
    assert active["system"].content == get_template("family-memory-keeper").prompts["system"]
    assert at.query_params["clone"] == clone.id  # landed on its Knowledge page
    assert "Nana Rose is ready" in texts(at)


def test_duplicate_an_existing_clone(open_page, studio_runtime):  # noqa: F811
    source = create_clone(studio_runtime, "Orion", "Knows the stars.")
    with studio_runtime.session() as session:
        save_version(session, source.id, "system", "You are {{ clone_name }}, an astronomer.", "astronomer",
                     activate=True)
    at = open_page("app_pages/new_clone.py")
    by_key(at, "method-duplicate")
    labelled(at.selectbox, "Clone to copy").set_value(source.id).run()
    click(at, "Next")
    assert labelled(at.text_input, "Name").value == "Orion (2)"
    click(at, "Next: review")
    assert "not copied" in str(at.dataframe[0].value["Value"].tolist())
    click(at, "Create clone")
    with studio_runtime.session() as session:
        copy = find_clone(session, "Orion (2)")
        assert copy.created_from == "duplicate"
        assert history_records(session, copy.id) == history_records(session, source.id)
        assert active_versions(session, copy.id)["system"] == 2


def test_from_scratch_refuses_a_taken_name_then_creates(open_page, studio_runtime):  # noqa: F811
    create_clone(studio_runtime, "Taken")
    at = open_page("app_pages/new_clone.py")
    by_key(at, "method-scratch")
    labelled(at.text_input, "Name").set_value("taken")
    click(at, "Next: review")
    assert any("already have a clone called 'taken'" in e.value.replace("\\", "") for e in at.error)
    labelled(at.text_input, "Name").set_value("Fresh")
    labelled(at.slider, "Creativity (temperature)").set_value(0.8)
    click(at, "Next: review")
    click(at, "Create clone")
    with studio_runtime.session() as session:
        clone = find_clone(session, "Fresh")
        assert (clone.created_from, clone.temperature) == ("scratch", 0.8)
        assert active_versions(session, clone.id) == {"system": 1, "rag": 1, "user": 1}


def test_back_and_start_over(open_page):  # noqa: F811
    at = open_page("app_pages/new_clone.py")
    by_key(at, "method-template")
    click(at, "Back")
    assert "How to start" in texts(at) and at.button(key="method-scratch")
    by_key(at, "method-scratch")
    click(at, "Start over")
    assert at.button(key="method-template")


def test_import_a_bundle_and_refuse_a_foreign_file(open_page, studio_runtime):  # noqa: F811
    source = create_clone(studio_runtime, "Vega", "Knows the sky.")
    with studio_runtime.session() as session:
        save_version(session, source.id, "system", "You are {{ clone_name }}, stargazer.", "stars", activate=True)
    data = export_bundle(studio_runtime, source.id)

    at = open_page("app_pages/new_clone.py")
    by_key(at, "method-import")
    at.file_uploader[0].set_value(("notes.zip", b"PK not really", "application/zip"))
    click(at, "Import clone")
    assert any("not a Clone Studio bundle" in e.value.replace("\\", "") for e in at.error)

    at.file_uploader[0].set_value(("vega.clone.zip", data, "application/zip"))
    click(at, "Import clone")
    with studio_runtime.session() as session:
        copy = find_clone(session, "Vega (2)")
        assert copy.created_from == "import"
        assert history_records(session, copy.id) == history_records(session, source.id)
    assert at.query_params["clone"] == copy.id and "Imported Vega (2)" in texts(at)
