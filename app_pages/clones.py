"""Clones: the gallery; create, edit and delete clones; jump to their chat or knowledge."""
import streamlit as st

from core.clones import clone_cards, create_clone, delete_clone, update_clone
from core.errors import StudioError
from core.prompts import DEFAULT_SYSTEM, active_prompts, save_version
from studio import state
from studio.components import clone_card_body
from studio.runtime import get_runtime
from studio.text import escape_md, plural

AVATARS = ["🤖", "🧠", "🦉", "🧑‍🏫", "👩‍⚕️", "🧑‍💼", "🧑‍🔬", "🎨", "📚", "🧘", "💡", "🛠️", "🌱", "🦊", "👵", "🚀"]
COLUMNS = 3

runtime = get_runtime()
state.clone_picker(runtime)


def _system_prompt(clone_id: str) -> str:
    with runtime.session() as session:
        row = active_prompts(session, clone_id).get("system")
    return row.content if row else ""


@st.dialog("New clone", width="large", on_dismiss=state.close_dialog)
def new_clone_dialog() -> None:
    clone_form()


@st.dialog("Edit clone", width="large", on_dismiss=state.close_dialog)
def edit_clone_dialog(clone_id: str, name: str, description: str, avatar: str) -> None:
    clone_form(clone_id, name, description, avatar)


def clone_form(clone_id: str | None = None, name: str = "", description: str = "", avatar: str = "🤖") -> None:
    current_prompt = _system_prompt(clone_id) if clone_id else ""
    with st.form("clone-form", border=False):
        name = st.text_input("Name", value=name, max_chars=80, placeholder="e.g. Ada, the product mentor")
        description = st.text_area(
            "Description", value=description, height=80, placeholder="What this clone is about, in a sentence or two."
        )
        avatar = st.pills("Avatar", AVATARS + ([avatar] if avatar not in AVATARS else []), default=avatar)
        system = st.text_area(
            "System prompt", value=current_prompt, height=160, placeholder=DEFAULT_SYSTEM,
            help="Who the clone is and how it speaks. Leave it empty for the default.",
        )
        saved = st.form_submit_button("Save changes" if clone_id else "Create clone", type="primary")
    if saved:
        _save_clone(clone_id, name, description, avatar or "🤖", system.strip(), current_prompt.strip())


def _save_clone(clone_id, name, description, avatar, system, current_prompt) -> None:
    try:
        if clone_id is None:
            clone = create_clone(runtime, name, description, avatar, system or None)
            state.select_clone(clone.id)
            state.flash(f"{clone.name} is ready. Give it some knowledge, then chat with it.")
        else:
            clone = update_clone(runtime, clone_id, name=name, description=description.strip(), avatar=avatar)
            if system and system != current_prompt:
                with runtime.session() as session:
                    save_version(session, clone_id, "system", system, "Edited on the Clones page", activate=True)
            state.flash(f"Saved {clone.name}.")
    except StudioError as error:
        st.error(escape_md(str(error)), icon=":material/error:")
        return
    state.close_dialog()
    st.rerun()


@st.dialog("Delete clone", on_dismiss=state.close_dialog)
def delete_dialog(clone_id: str, name: str, documents: int, chats: int) -> None:
    st.markdown(f"Delete **{escape_md(name)}**?")
    st.caption(
        f"This removes its {plural(documents, 'document')} with their chunks and files, "
        f"its {plural(chats, 'chat')} and its prompt history. It cannot be undone."
    )
    confirm, cancel = st.columns(2)
    if confirm.button("Delete clone", type="primary", icon=":material/delete:", width="stretch"):
        try:
            delete_clone(runtime, clone_id)
            state.flash(f"Deleted {name}.")
        except StudioError as error:
            state.flash(str(error), "error")
        state.close_dialog()
        st.rerun()
    if cancel.button("Cancel", width="stretch"):
        state.close_dialog()
        st.rerun()


def gallery(cards) -> None:
    for row in range(0, len(cards), COLUMNS):
        columns = st.columns(COLUMNS)
        for column, card in zip(columns, cards[row : row + COLUMNS]):
            with column.container(border=True):
                clone_card(card)


def clone_card(card) -> None:
    clone = card.clone
    clone_card_body(clone, card.documents, card.chats, card.last_used)
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button("Chat", key=f"chat-{clone.id}", type="primary", icon=":material/chat:"):
            state.go(state.PAGE_CHAT, clone.id)
        if st.button("Knowledge", key=f"knowledge-{clone.id}", icon=":material/library_books:"):
            state.go(state.PAGE_KNOWLEDGE, clone.id)
        with st.popover("", icon=":material/more_vert:", type="tertiary", help="Edit or delete"):
            if st.button("Edit", key=f"edit-{clone.id}", icon=":material/edit:", type="tertiary"):
                state.open_dialog("edit-clone", clone_id=clone.id, name=clone.name, description=clone.description, avatar=clone.avatar)
            if st.button("Delete", key=f"delete-{clone.id}", icon=":material/delete:", type="tertiary"):
                state.open_dialog("delete-clone", clone_id=clone.id, name=clone.name, documents=card.documents, chats=card.chats)


def empty_state() -> None:
    with st.container(border=True, horizontal_alignment="center"):
        st.markdown("### :material/groups: No clones yet", text_alignment="center")
        st.caption("A clone is a persona with its own prompts and documents. Create one to get started.", text_alignment="center")
        if st.button("Create your first clone", type="primary", icon=":material/add:"):
            state.open_dialog("new-clone")


head, action = st.columns([4, 1], vertical_alignment="bottom")
head.title("Clones", anchor=False)
head.caption("Build AI clones, give them documents to know, and talk to them.")
if action.button("New clone", type="primary", icon=":material/add:", width="stretch"):
    state.open_dialog("new-clone")
state.show_flashes()

with runtime.session() as session:
    cards = clone_cards(session)
if cards:
    gallery(cards)
else:
    empty_state()

if state.dialog("new-clone") is not None:
    new_clone_dialog()
if (payload := state.dialog("edit-clone")) is not None:
    edit_clone_dialog(**payload)
if (payload := state.dialog("delete-clone")) is not None:
    delete_dialog(**payload)
