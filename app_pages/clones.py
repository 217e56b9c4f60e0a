"""Clones: the gallery with search and filters; create, edit (details and settings), duplicate,
export and delete clones; jump to their chat, knowledge or prompts."""
import streamlit as st

from core.bundles import bundle_filename, export_bundle
from core.clones import clone_cards, delete_clone, get_clone, update_clone
from core.errors import StudioError
from core.onboarding import dismiss_welcome, welcome_dismissed
from core.lifecycle import clean_tags, clone_categories, duplicate_clone, filter_clones, set_favorite, unique_name
from studio import state
from studio.components import clone_card_body, clone_title, confirm_delete
from studio.provider_picker import embedder_switch, generation_settings, retrieval_settings, speech_settings
from studio.runtime import owner_runtime
from studio.text import escape_md, plural

AVATARS = ["🤖", "🧠", "🦉", "🧑‍🏫", "👩‍⚕️", "🧑‍💼", "🧑‍🔬", "🎨", "📚", "🧘", "💡", "🛠️", "🌱", "🦊", "👵", "🚀"]
COLUMNS = 3
SEARCH, CATEGORY, TAG, FAVORITES = "clones.search", "clones.category", "clones.tag", "clones.favorites"
ANY = ""

runtime = owner_runtime()
state.clone_picker(runtime)


def _fail(error: StudioError) -> None:
    st.error(escape_md(str(error)), icon=":material/error:")


def _done(message: str) -> None:
    state.flash(message)
    state.close_dialog()
    st.rerun()


# ---------------------------------------------------------------- dialogs


def profile_inputs(key: str, name: str = "", description: str = "", avatar: str = "🤖") -> dict:
    name = st.text_input("Name", value=name, max_chars=80, placeholder="e.g. Ada, the product mentor", key=f"{key}.name")
    description = st.text_area(
        "Description", value=description, height=80, placeholder="What this clone is about, in a sentence or two.",
        key=f"{key}.description",
    )
    avatar = st.pills("Avatar", AVATARS + ([avatar] if avatar not in AVATARS else []), default=avatar, key=f"{key}.avatar")
    return {"name": name, "description": description.strip(), "avatar": avatar or "🤖"}


def prompts_link(clone) -> None:
    """The system prompt (who the clone is, how it speaks) is edited, versioned and tried on the Prompts page."""
    st.caption("Who the clone is and how it speaks lives in its system prompt, edited and versioned on the Prompts page.")
    if st.button("Edit the system prompt", icon=":material/tune:", key=f"prompts-link-{clone.id}"):
        state.close_dialog()
        state.go(state.PAGE_PROMPTS, clone.id)


def classification_inputs(clone, key: str) -> dict:
    clones = state.all_clones(runtime)
    with runtime.session() as session:
        categories = clone_categories(session)
    known_tags = sorted({tag for other in clones for tag in other.tags or []} | set(clone.tags or []))
    specialty = st.text_input("Specialty", value=clone.specialty, max_chars=120, key=f"{key}.specialty",
                              placeholder="e.g. Early-stage startups and fundraising")
    left, right = st.columns(2)
    options = [ANY, *sorted(set(categories) | ({clone.category} - {ANY}))]
    category = left.selectbox(
        "Category", options, index=options.index(clone.category), format_func=lambda c: c or "No category",
        accept_new_options=True, key=f"{key}.category", help="Pick one or type a new one; the gallery filters by it.",
    )
    tags = right.multiselect("Tags", known_tags, default=clone.tags or [], accept_new_options=True, key=f"{key}.tags",
                             placeholder="Add tags")
    return {"specialty": " ".join(specialty.split()), "category": " ".join((category or "").split()), "tags": clean_tags(tags)}


@st.dialog("Edit clone", width="large", on_dismiss=state.close_dialog)
def edit_clone_dialog(clone_id: str) -> None:
    try:
        with runtime.session() as session:
            clone = get_clone(session, clone_id)
    except StudioError as error:
        state.flash(str(error), "error")
        state.close_dialog()
        st.rerun()
    key = f"edit.{clone.id}"
    profile_tab, model_tab, knowledge_tab, voice_tab = st.tabs(
        [":material/person: Profile", ":material/neurology: Model", ":material/library_books: Knowledge",
         ":material/record_voice_over: Voice"]
    )
    with profile_tab:
        profile = profile_inputs(key, clone.name, clone.description, clone.avatar)
        fields = classification_inputs(clone, key)
        prompts_link(clone)
    with model_tab:
        fields |= generation_settings(runtime, clone, key=f"{key}.generation")
    with knowledge_tab:
        fields |= retrieval_settings(clone, key=f"{key}.retrieval")
    with voice_tab:
        fields |= speech_settings(runtime, clone, key=f"{key}.speech")
        voice_link(clone)
    with knowledge_tab:
        embeddings(clone, key)
    if st.button("Save changes", type="primary", key=f"{key}.save"):
        save_edits(clone.id, profile, fields)


def voice_link(clone) -> None:
    st.caption(f"Voice: {escape_md(clone.tts_voice) if clone.tts_voice else 'the provider’s default'}. "
               "Pick a voice and tune how it sounds on the Voice page.")
    if st.button("Choose a voice", icon=":material/arrow_forward:", key=f"voice-{clone.id}"):
        state.close_dialog()
        state.go(state.PAGE_VOICE, clone.id)


def embeddings(clone, key: str) -> None:
    st.divider()
    st.caption("The embedder turns passages into vectors for search. Switching it re-indexes this clone's "
               "documents right away, separately from Save changes.")
    updated = embedder_switch(runtime, clone, key=f"{key}.embedder")
    if updated is not None:
        st.success(f"{updated.name} now searches with its new index.", icon=":material/check_circle:")


def save_edits(clone_id: str, profile: dict, fields: dict) -> None:
    try:
        clone = update_clone(runtime, clone_id, name=profile["name"], description=profile["description"],
                             avatar=profile["avatar"], **fields)
    except StudioError as error:
        return _fail(error)
    _done(f"Saved {clone.name}.")


@st.dialog("Duplicate clone", on_dismiss=state.close_dialog)
def duplicate_dialog(clone_id: str, name: str, documents: int) -> None:
    st.markdown(f"Copy **{escape_md(name)}** with its prompts and their history, its settings and question sets.")
    with runtime.session() as session:
        suggested = unique_name(session, name)
    copy_name = st.text_input("Name of the copy", value=suggested, max_chars=80, key=f"duplicate.{clone_id}.name")
    knowledge = st.checkbox(
        f"Copy its knowledge too ({plural(documents, 'document')})", disabled=not documents,
        key=f"duplicate.{clone_id}.knowledge",
        help="The files are added to the copy and indexed again in the background." if documents
        else "This clone has no documents yet.",
    )
    confirm, cancel = st.columns(2)
    if confirm.button("Duplicate", type="primary", icon=":material/content_copy:", width="stretch",
                      key=f"duplicate.{clone_id}.confirm"):
        try:
            copy = duplicate_clone(runtime, clone_id, copy_name, knowledge=knowledge)
        except StudioError as error:
            return _fail(error)
        state.select_clone(copy.id)
        _done(f"Made {copy.name}, a copy of {name}." + (" Its documents are being indexed again." if knowledge else ""))
    if cancel.button("Cancel", width="stretch"):
        state.close_dialog()
        st.rerun()


@st.dialog("Delete clone", on_dismiss=state.close_dialog)
def delete_dialog(clone_id: str, name: str, documents: int, chats: int) -> None:
    st.markdown(f"Delete **{escape_md(name)}**?")
    st.caption(
        f"This removes its {plural(documents, 'document')} with their chunks and files, "
        f"its {plural(chats, 'chat')} and its prompt history. It cannot be undone."
    )
    confirm_delete("Delete clone", lambda: delete_clone(runtime, clone_id), f"Deleted {name}.")


# ---------------------------------------------------------------- gallery


def _keep_known(key: str, options: list[str]) -> None:
    """Forget a filter choice that no longer exists (its last clone was recategorised or deleted)."""
    if st.session_state.get(key, ANY) not in options:
        st.session_state[key] = ANY


def filters(categories: list[str], tags: list[str]) -> dict:
    with st.container(horizontal=True, vertical_alignment="center"):
        query = st.text_input(
            "Search clones", key=SEARCH, type="search", live="300ms", icon=":material/search:",
            placeholder="Search by name, specialty or tag", label_visibility="collapsed",
        )
        category = tag = ANY
        if categories:
            _keep_known(CATEGORY, [ANY, *categories])
            category = st.selectbox("Category", [ANY, *categories], key=CATEGORY, label_visibility="collapsed",
                                    format_func=lambda c: c or "All categories", width=220)
        if tags:
            _keep_known(TAG, [ANY, *tags])
            tag = st.selectbox("Tag", [ANY, *tags], key=TAG, label_visibility="collapsed",
                               format_func=lambda t: t or "All tags", width=180)
        favorites = st.toggle("Favourites only", key=FAVORITES)
    return {"query": query or "", "category": category or None, "tag": tag or None, "favorites_only": favorites}


def clear_filters() -> None:
    st.session_state.update({SEARCH: "", CATEGORY: ANY, TAG: ANY, FAVORITES: False})


def gallery(cards) -> None:
    for row in range(0, len(cards), COLUMNS):
        columns = st.columns(COLUMNS)
        for column, card in zip(columns, cards[row : row + COLUMNS]):
            with column.container(border=True, height="stretch"):
                clone_card(card)


def clone_card(card) -> None:
    clone = card.clone
    with st.container(horizontal=True, vertical_alignment="top", gap="small", wrap=False):
        clone_title(clone)
        favorite_button(clone)
    clone_card_body(clone, card.documents, card.chats, card.last_used)
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button("Chat", key=f"chat-{clone.id}", type="primary", icon=":material/chat:"):
            state.go(state.PAGE_CHAT, clone.id)
        if st.button("Knowledge", key=f"knowledge-{clone.id}", icon=":material/library_books:"):
            state.go(state.PAGE_KNOWLEDGE, clone.id)
        st.space("stretch")
        menu = f"menu-{clone.id}"
        with st.popover("", icon=":material/more_horiz:", type="tertiary", help="More actions", key=menu,
                        on_change="rerun"):
            with st.container(gap="xxsmall"):
                card_menu(card, menu)


def favorite_button(clone) -> None:
    if st.button(
        "", key=f"favorite-{clone.id}", type="tertiary", icon="⭐" if clone.favorite else ":material/star:",
        help="Remove from favourites" if clone.favorite else "Add to favourites (favourites come first)",
    ):
        try:
            set_favorite(runtime, clone.id, not clone.favorite)
        except StudioError as error:
            state.flash(str(error), "error")
        st.rerun()


def card_menu(card, menu: str) -> None:
    clone = card.clone
    st.button("Edit and settings", key=f"edit-{clone.id}", icon=":material/edit:", type="tertiary",
              on_click=open_from_menu, args=(menu, "edit-clone"), kwargs={"clone_id": clone.id})
    if st.button("Prompts", key=f"prompts-{clone.id}", icon=":material/tune:", type="tertiary"):
        state.go(state.PAGE_PROMPTS, clone.id)
    st.button("Duplicate", key=f"duplicate-{clone.id}", icon=":material/content_copy:", type="tertiary",
              on_click=open_from_menu, args=(menu, "duplicate-clone"),
              kwargs={"clone_id": clone.id, "name": clone.name, "documents": card.documents})
    st.download_button(
        "Export", data=lambda: export_bundle(runtime, clone.id), file_name=bundle_filename(clone),
        mime="application/zip", on_click="ignore", key=f"export-{clone.id}", icon=":material/download:",
        type="tertiary", help=f"Download {bundle_filename(clone)}: its prompts with their history, settings, "
        "question sets and documents, ready to import elsewhere.",
    )
    st.button("Delete", key=f"delete-{clone.id}", icon=":material/delete:", type="tertiary",
              on_click=open_from_menu, args=(menu, "delete-clone"),
              kwargs={"clone_id": clone.id, "name": clone.name, "documents": card.documents, "chats": card.chats})


def open_from_menu(menu: str, dialog: str, **payload) -> None:
    """Close the card's menu and open a dialog (a callback: it runs before the page draws the menu)."""
    st.session_state[menu] = False
    state.open_dialog(dialog, **payload)


def empty_state() -> None:
    with st.container(border=True, horizontal_alignment="center"):
        st.markdown("### :material/groups: No clones yet", text_alignment="center")
        st.caption("A clone is a persona with its own prompts and documents. Create one to get started.", text_alignment="center")
        if st.button("Create your first clone", type="primary", icon=":material/add:"):
            st.switch_page(state.PAGE_NEW_CLONE)


def no_match() -> None:
    with st.container(border=True, horizontal_alignment="center"):
        st.markdown("### :material/search_off: No clones match", text_alignment="center")
        st.caption("Try other words, another category or tag, or show every clone again.", text_alignment="center")
        st.button("Clear filters", icon=":material/filter_alt_off:", on_click=clear_filters)


def welcome() -> None:
    """The first-run welcome: what a clone is and the three steps; dismissed for good."""
    if welcome_dismissed(runtime):
        return
    with st.container(border=True):
        st.markdown("#### :material/waving_hand: Welcome to Clone Studio")
        st.markdown("A **clone** is an AI persona you build: a name and a face, a way of speaking, and the "
                    "documents it knows. It answers from those documents and says where each answer came from.")
        steps = st.columns(3)
        for column, (icon, title, text) in zip(steps, (
            (":material/add_circle:", "1. Create a clone", "From scratch or from a template, with New clone."),
            (":material/library_books:", "2. Add documents", "PDFs, text or Markdown, on its Knowledge page."),
            (":material/chat:", "3. Chat", "Ask it anything its documents cover; every answer is cited."),
        )):
            column.markdown(f"{icon} **{title}**")
            column.caption(text)
        if demo := next((card.clone for card in cards if card.clone.created_from == "demo"), None):
            st.caption(f"{escape_md(demo.name)} is a demo clone that already knows a few documents: "
                       "open its chat to try it.")
        with st.container(horizontal=True):
            if demo is not None and st.button("Try the demo chat", type="primary", icon=":material/chat:"):
                state.go(state.PAGE_CHAT, demo.id)
            if st.button("Got it, don't show this again", icon=":material/check:", type="tertiary"):
                dismiss_welcome(runtime)
                st.rerun()


head, action = st.columns([4, 1], vertical_alignment="bottom")
head.title("Clones", anchor=False)
head.caption("Build AI clones, give them documents to know, and talk to them.")
if action.button("New clone", type="primary", icon=":material/add:", width="stretch"):
    st.switch_page(state.PAGE_NEW_CLONE)
state.show_flashes()

with runtime.session() as session:
    cards = clone_cards(session)
    categories = clone_categories(session)
welcome()
if cards:
    chosen = filters(categories, sorted({tag for card in cards for tag in card.clone.tags or []}))
    with runtime.session() as session:
        shown = [clone.id for clone in filter_clones(session, **chosen)]
    by_id = {card.clone.id: card for card in cards}
    matching = [by_id[clone_id] for clone_id in shown if clone_id in by_id]
    if len(matching) < len(cards):
        st.caption(f"Showing {len(matching)} of {plural(len(cards), 'clone')}.")
    if matching:
        gallery(matching)
    else:
        no_match()
else:
    empty_state()

if (payload := state.dialog("edit-clone")) is not None:
    edit_clone_dialog(**payload)
if (payload := state.dialog("duplicate-clone")) is not None:
    duplicate_dialog(**payload)
if (payload := state.dialog("delete-clone")) is not None:
    delete_dialog(**payload)
