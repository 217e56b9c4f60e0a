"""The Clones page and the pages' shared frame, through AppTest on the real app and core."""
from __future__ import annotations

from core.clones import clone_cards, create_clone, delete_clone, find_clone, list_clones
from core.demo import NAME as DEMO_NAME
from core.prompts import active_prompts
from studio.state import PAGE_CHAT, PAGE_CLONES, PAGE_KNOWLEDGE
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


def test_create_a_clone_through_the_dialog(app, studio_runtime):
    at = app()
    button(at, "New clone").click().run()
    at.text_input[0].input("Marie, the chemist")
    at.text_area[0].input("Knows her lab notebooks by heart.")
    at.button_group[0].set_value("🧑‍🔬")
    at.text_area[1].input("You are {{ clone_name }}. Speak precisely.")
    button(at, "Create clone").click().run()
    no_exception(at)

    with studio_runtime.session() as session:
        clone = find_clone(session, "Marie, the chemist")
        system = active_prompts(session, clone.id)["system"]
    assert (clone.description, clone.avatar) == ("Knows her lab notebooks by heart.", "🧑‍🔬")
    assert system.version == 1 and system.content == "You are {{ clone_name }}. Speak precisely."
    assert "Marie, the chemist is ready" in texts(at)
    assert at.query_params["clone"] == clone.id
    assert not [b for b in at.button if b.label == "Create clone"]  # the dialog closed


def test_a_taken_name_is_refused_inside_the_dialog(app, studio_runtime):
    at = app()
    button(at, "New clone").click().run()
    at.text_input[0].input(DEMO_NAME.upper())
    button(at, "Create clone").click().run()
    no_exception(at)
    assert "already have a clone called" in texts(at)
    assert button(at, "Create clone")  # still open, nothing lost
    with studio_runtime.session() as session:
        assert len(list_clones(session)) == 1


def test_edit_a_clone_saves_details_and_a_new_system_prompt_version(app, studio_runtime):
    at = app()
    demo_id = at.query_params["clone"]
    at.button(key=f"edit-{demo_id}").click().run()
    at.text_input[0].input("Ada the Guide")
    at.text_area[1].input("You are {{ clone_name }}. Be brief.")
    button(at, "Save changes").click().run()
    no_exception(at)
    with studio_runtime.session() as session:
        clone = find_clone(session, demo_id)
        system = active_prompts(session, demo_id)["system"]
    assert clone.name == "Ada the Guide"
    assert (system.version, system.content) == (2, "You are {{ clone_name }}. Be brief.")
    assert "Ada the Guide" in texts(at)


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
