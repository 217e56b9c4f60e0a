"""The Clones page and the pages' shared frame, through AppTest on the real app and core."""
from __future__ import annotations

import pytest

from core.bundles import bundle_filename
from core.clones import clone_cards, create_clone, delete_clone, find_clone, list_clones
from core.demo import NAME as DEMO_NAME
from core.lifecycle import wait_indexed
from core.prompts import active_prompts
from studio.state import PAGE_CHAT, PAGE_CLONES, PAGE_KNOWLEDGE
from tests.fakes.fixtures import no_outside_keys  # noqa: F401
from tests.studio_app import app, button, no_exception, registered_pages, studio_runtime, texts  # noqa: F401

PAGES = registered_pages()  # every page in the navigation, including ones added later


def test_the_navigation_lists_the_studio_pages_with_clones_first():
    assert PAGES[:3] == [PAGE_CLONES, PAGE_KNOWLEDGE, PAGE_CHAT]


def test_every_page_renders_with_the_demo_clone(app):
    at = app()
    no_exception(at)
    assert DEMO_NAME in texts(at)
    demo_id = at.query_params["clone"]
    for page in PAGES:
        at.switch_page(page).run()
        no_exception(at)
    for page in (PAGE_CLONES, PAGE_KNOWLEDGE, PAGE_CHAT):  # the selected clone follows across pages
        at.switch_page(page).run()
        assert at.query_params["clone"] == demo_id
        assert at.sidebar.selectbox[0].value == demo_id


def test_every_page_renders_an_empty_studio(app, studio_runtime):
    with studio_runtime.session() as session:
        demo = find_clone(session, DEMO_NAME)
    delete_clone(studio_runtime, demo.id)
    at = app()
    no_exception(at)
    assert "No clones yet" in texts(at)
    assert button(at, "Create your first clone")
    for page in PAGES[1:]:
        at.switch_page(page).run()
        no_exception(at)
        assert "clone" not in at.query_params
    for page in (PAGE_KNOWLEDGE, PAGE_CHAT):
        at.switch_page(page).run()
        assert "No clones yet" in texts(at)
        assert not at.chat_input and not at.file_uploader


def test_new_clone_opens_the_one_wizard_with_from_scratch_first(app, studio_runtime):
    at = app()
    button(at, "New clone").click().run()
    no_exception(at)
    assert "How to start" in texts(at)
    first = next(b for b in at.button if b.key and b.key.startswith("method-"))
    assert first.key == "method-scratch"
    at.button(key="method-scratch").click().run()
    at.text_input[0].input("Marie, the chemist")
    button(at, "Next: review").click().run()
    button(at, "Create clone").click().run()
    no_exception(at)
    with studio_runtime.session() as session:
        clone = find_clone(session, "Marie, the chemist")
    assert clone.created_from == "scratch"
    assert "Marie, the chemist is ready" in texts(at)


def test_edit_a_clone_saves_details_and_links_to_prompts_for_the_system_prompt(app, studio_runtime):
    at = app()
    demo_id = at.query_params["clone"]
    at.button(key=f"edit-{demo_id}").click().run()
    assert not [a for a in at.text_area if a.key == f"edit.{demo_id}.system"]  # edited in one place only
    assert "system prompt" in texts(at)
    at.text_input(key=f"edit.{demo_id}.name").input("Ada the Guide")
    button(at, "Save changes").click().run()
    no_exception(at)
    with studio_runtime.session() as session:
        assert find_clone(session, demo_id).name == "Ada the Guide"
        assert active_prompts(session, demo_id)["system"].version == 1
    assert "Ada the Guide" in texts(at)

    at.button(key=f"edit-{demo_id}").click().run()
    button(at, "Edit the system prompt").click().run()
    no_exception(at)
    assert at.query_params["clone"] == demo_id
    assert "Active versions: System v1" in texts(at)


def test_delete_asks_for_confirmation_first(app, studio_runtime):
    create_clone(studio_runtime, "Spare")
    at = app()
    spare = next(c for c in all_clones(studio_runtime) if c.name == "Spare")
    at.button(key=f"delete-{spare.id}").click().run()
    assert "cannot be undone" in texts(at)
    button(at, "Cancel").click().run()
    assert "Spare" in [c.name for c in all_clones(studio_runtime)]

    at.button(key=f"delete-{spare.id}").click().run()
    button(at, "Delete clone").click().run()
    no_exception(at)
    assert "Spare" not in [c.name for c in all_clones(studio_runtime)]
    assert "Deleted Spare." in texts(at)


def test_card_buttons_open_chat_and_knowledge_with_the_clone_selected(app, studio_runtime):
    other = create_clone(studio_runtime, "Grace", "Knows compilers.")
    at = app()
    at.button(key=f"chat-{other.id}").click().run()
    no_exception(at)
    assert at.query_params["clone"] == other.id
    assert at.chat_input  # on the chat page
    assert "Grace" in texts(at)

    at.switch_page(PAGE_CLONES).run()
    at.button(key=f"knowledge-{other.id}").click().run()
    assert at.query_params["clone"] == other.id
    assert at.file_uploader


def test_the_sidebar_selector_switches_clone_everywhere(app, studio_runtime):
    other = create_clone(studio_runtime, "Grace")
    at = app(PAGE_CHAT)
    at.sidebar.selectbox[0].select(other.id).run()
    no_exception(at)
    assert at.query_params["clone"] == other.id
    at.switch_page(PAGE_KNOWLEDGE).run()
    assert at.query_params["clone"] == other.id
    assert "Grace" in texts(at)


def test_a_link_with_a_clone_lands_on_it(app, studio_runtime):
    other = create_clone(studio_runtime, "Grace")
    at = app(query={"clone": other.slug})
    no_exception(at)
    assert at.query_params["clone"] == other.id
    assert at.sidebar.selectbox[0].value == other.id


def test_gallery_cards_show_counts(app, studio_runtime):
    at = app()
    with studio_runtime.session() as session:
        card = next(c for c in clone_cards(session) if c.clone.name == DEMO_NAME)
    assert f"{card.documents} documents · 0 chats · last used never" in texts(at)


def all_clones(runtime):
    with runtime.session() as session:
        return list_clones(session)


# ---------------------------------------------------------------- gallery filters, favourites, card actions


def shown(at) -> list[str]:
    """The ids of the clones whose cards are on the page, in gallery order."""
    return [b.key.removeprefix("chat-") for b in at.button if (b.key or "").startswith("chat-")]


@pytest.fixture
def three_clones(studio_runtime):
    grace = create_clone(studio_runtime, "Grace", "Knows compilers.", category="Engineering", tags=["code", "history"])
    maya = create_clone(studio_runtime, "Maya", "A calm listener.", category="Wellbeing", tags=["cbt"],
                        specialty="Anxiety and sleep")
    linus = create_clone(studio_runtime, "Linus", "Reviews patches.", category="Engineering", tags=["code"])
    return grace, maya, linus


def test_search_category_tag_and_favourites_narrow_the_gallery(app, three_clones):
    grace, maya, linus = three_clones
    at = app()
    assert len(shown(at)) == 4  # the demo clone too
    assert "Anxiety and sleep" in texts(at) and "Wellbeing" in texts(at)  # specialty and category on the card

    at.text_input(key="clones.search").input("sleep").run()  # the specialty is searched too
    no_exception(at)
    assert shown(at) == [maya.id]
    assert "Showing 1 of 4 clones." in texts(at)

    at.text_input(key="clones.search").input("").run()
    at.selectbox(key="clones.category").select("Engineering").run()
    assert set(shown(at)) == {grace.id, linus.id}
    at.selectbox(key="clones.tag").select("history").run()
    assert shown(at) == [grace.id]

    at.selectbox(key="clones.tag").select("").run()
    at.toggle(key="clones.favorites").set_value(True).run()
    assert shown(at) == []
    assert "No clones match" in texts(at)
    button(at, "Clear filters").click().run()
    no_exception(at)
    assert len(shown(at)) == 4
    assert at.text_input(key="clones.search").value == "" and not at.toggle(key="clones.favorites").value


def test_the_star_makes_a_favourite_that_comes_first_and_filters(app, studio_runtime, three_clones):
    grace, maya, linus = three_clones
    at = app()
    at.button(key=f"favorite-{maya.id}").click().run()
    no_exception(at)
    with studio_runtime.session() as session:
        assert find_clone(session, maya.id).favorite
    assert shown(at)[0] == maya.id
    at.toggle(key="clones.favorites").set_value(True).run()
    assert shown(at) == [maya.id]

    at.button(key=f"favorite-{maya.id}").click().run()
    with studio_runtime.session() as session:
        assert not find_clone(session, maya.id).favorite
    assert "No clones match" in texts(at)


def test_duplicate_makes_a_numbered_copy_with_its_prompts_and_optionally_its_knowledge(app, studio_runtime):
    at = app()
    demo_id = at.query_params["clone"]
    at.button(key=f"duplicate-{demo_id}").click().run()
    assert at.text_input(key=f"duplicate.{demo_id}.name").value == f"{DEMO_NAME} (2)"
    at.checkbox(key=f"duplicate.{demo_id}.knowledge").check()
    at.button(key=f"duplicate.{demo_id}.confirm").click().run()
    no_exception(at)

    with studio_runtime.session() as session:
        copy = find_clone(session, f"{DEMO_NAME} (2)")
        prompts = {layer: row.content for layer, row in active_prompts(session, copy.id).items()}
        originals = {layer: row.content for layer, row in active_prompts(session, demo_id).items()}
    assert prompts == originals
    assert copy.created_from == "duplicate"
    assert f"Made {DEMO_NAME} (2), a copy of {DEMO_NAME}." in texts(at)
    assert at.query_params["clone"] == copy.id
    assert wait_indexed(studio_runtime)
    with studio_runtime.session() as session:
        cards = {card.clone.id: card for card in clone_cards(session)}
    assert cards[copy.id].documents == cards[demo_id].documents > 0

    spare = create_clone(studio_runtime, "Spare")
    at.run()
    at.button(key=f"duplicate-{spare.id}").click().run()
    assert at.checkbox(key=f"duplicate.{spare.id}.knowledge").disabled  # nothing to copy
    at.button(key=f"duplicate.{spare.id}.confirm").click().run()
    assert "Spare (2)" in [c.name for c in all_clones(studio_runtime)]


def test_every_card_offers_its_bundle_for_download(app, studio_runtime):
    at = app()
    demo_id = at.query_params["clone"]
    export = at.download_button(key=f"export-{demo_id}")
    with studio_runtime.session() as session:
        demo = find_clone(session, demo_id)
    assert export.label == "Export"
    assert export.proto.deferred_file_id  # the bundle is built when clicked, not on every run
    assert bundle_filename(demo) == "ada-the-studio-guide.clone.zip"
    assert f"Download {bundle_filename(demo)}" in export.help


def test_prompts_opens_the_prompt_studio_on_that_clone(app, studio_runtime):
    other = create_clone(studio_runtime, "Grace")
    at = app()
    at.button(key=f"prompts-{other.id}").click().run()
    no_exception(at)
    assert at.query_params["clone"] == other.id
    assert "Active versions: System v1" in texts(at)


def test_settings_in_the_edit_dialog_save_model_retrieval_and_classification(app, studio_runtime, no_outside_keys):
    clone = create_clone(studio_runtime, "Grace", "Knows compilers.")
    create_clone(studio_runtime, "Linus", category="Engineering", tags=["code", "history"])
    at = app()
    at.button(key=f"edit-{clone.id}").click().run()
    key = f"edit.{clone.id}"
    assert "8,192 tokens context · free" in texts(at)  # the offline model's window and price
    assert at.selectbox(key=f"{key}.embedder.embedder")  # the embedder switch is there too
    at.selectbox(key=f"{key}.generation.llm.provider").select("openai").run()
    no_exception(at)
    at.selectbox(key=f"{key}.generation.llm.model.openai").select("gpt-4o").run()
    assert "128,000 tokens context" in texts(at)
    at.slider(key=f"{key}.generation.temperature").set_value(0.8).run()
    at.number_input(key=f"{key}.generation.max_tokens").set_value(900).run()
    at.slider(key=f"{key}.retrieval.top_k").set_value(7).run()
    at.toggle(key=f"{key}.retrieval.hybrid").set_value(False).run()
    at.text_input(key=f"{key}.specialty").input("Compilers  and  languages").run()
    at.selectbox(key=f"{key}.category").set_value("Engineering").run()
    at.multiselect(key=f"{key}.tags").set_value(["history", "code"]).run()
    at.button(key=f"{key}.save").click().run()
    no_exception(at)

    with studio_runtime.session() as session:
        saved = find_clone(session, clone.id)
    assert (saved.llm_provider, saved.llm_model, saved.temperature, saved.max_tokens) == ("openai", "gpt-4o", 0.8, 900)
    assert (saved.top_k, saved.hybrid) == (7, False)
    assert (saved.specialty, saved.category, saved.tags) == ("Compilers and languages", "Engineering", ["history", "code"])
    assert "Saved Grace." in texts(at)
    at.selectbox(key="clones.category").select("Engineering").run()
    assert clone.id in shown(at)  # the gallery filters by the new category

    at.button(key=f"edit-{clone.id}").click().run()  # reopened: the saved values are shown
    assert at.selectbox(key=f"{key}.generation.llm.model.openai").value == "gpt-4o"
    assert at.slider(key=f"{key}.retrieval.top_k").value == 7
