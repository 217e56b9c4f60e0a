"""Chat: threads per clone, streamed answers with citations and an inspector of what was retrieved."""
import streamlit as st

from core.chat import ask
from core.clones import update_clone
from core.conversations import delete_thread, list_threads, rename_thread, thread_messages
from core.errors import StudioError
from core.onboarding import suggestions
from core.warmup import loaded
from studio import state
from studio.components import clone_header, confirm_delete, is_offline, message_bubble
from studio.provider_picker import clone_model_picker, offline_fallback
from studio.runtime import owner_runtime
from studio.text import escape_md
from studio.safe_markdown import write_stream
from studio.turn import StreamedTurn

runtime = owner_runtime()
clone = state.require_clone(runtime)

with runtime.session() as session:
    threads = list_threads(session, clone.id)
state.unknown_thread_link(threads)
thread = next((t for t in threads if t.id == state.current_thread_id()), None)
if thread is None:
    state.select_thread(None)


def thread_list() -> None:
    st.sidebar.subheader("Chats", anchor=False)
    if st.sidebar.button("New chat", icon=":material/add:", width="stretch", type="primary" if thread is None else "secondary"):
        state.select_thread(None)
        st.rerun()
    for item in threads:
        current = thread is not None and item.id == thread.id
        if st.sidebar.button(
            escape_md(item.title), key=f"thread-{item.id}", width="stretch",
            type="primary" if current else "tertiary", icon=":material/chat_bubble:",
        ):
            state.select_thread(item.id)
            st.rerun()


def thread_menu() -> None:
    with st.popover("This chat", icon=":material/more_horiz:", disabled=thread is None):
        if thread is None:
            return
        with st.form("rename-thread", border=False):
            title = st.text_input("Title", value=thread.title, max_chars=60)
            if st.form_submit_button("Rename", icon=":material/edit:"):
                _rename(title)
        if st.button("Delete chat", icon=":material/delete:", type="tertiary"):
            state.open_dialog("delete-thread", thread_id=thread.id, title=thread.title)
            st.rerun()


def _rename(title: str) -> None:
    try:
        with runtime.session() as session:
            rename_thread(session, thread.id, title)
    except StudioError as error:
        state.flash(str(error), "error")
    st.rerun()


@st.dialog("Delete chat", on_dismiss=state.close_dialog)
def delete_dialog(thread_id: str, title: str) -> None:
    st.markdown(f"Delete the chat **{escape_md(title)}** and all its messages?")
    st.caption("This cannot be undone.")
    confirm_delete("Delete chat", lambda: _delete_thread(thread_id))


def _delete_thread(thread_id: str) -> None:
    state.select_thread(None)
    with runtime.session() as session:
        delete_thread(session, thread_id)


def conversation() -> str | None:
    """The thread's messages; an empty chat greets and offers questions to try (the one clicked, if any)."""
    if thread is None:
        with st.chat_message("assistant", avatar=clone.avatar):
            st.markdown(f"Hi, I'm {escape_md(clone.name)}. Ask me anything about what I know.")
            st.caption("Every answer says which document, and which page, it came from.")
            return questions_to_try()
    with runtime.session() as session:
        messages = thread_messages(session, thread.id)
    for i, message in enumerate(messages):
        retry = i == len(messages) - 1 and i > 0 and failed_in_the_cloud(message)
        latest = i == len(messages) - 1
        message_bubble(message, avatar=clone.avatar, show_error=None if retry else latest)  # old errors don't linger
        if retry and offline_fallback(message, key=f"offline-{message.id}"):
            answer(messages[i - 1].content, provider="offline")
    return None


def questions_to_try() -> str | None:
    """Three questions drawn from the clone's ready documents (clicking one asks it); before any
    document is ready, where to add some."""
    questions = suggestions(runtime, clone.id)
    if not questions:
        st.caption("I don't know any documents yet. Add some on the Knowledge page; once they are ready, "
                   "questions to try appear here.")
        st.page_link(state.PAGE_KNOWLEDGE, label="Add documents", icon=":material/library_books:",
                     query_params={state.CLONE_PARAM: clone.id})
        return None
    st.caption("Try one of these:")
    with st.container(horizontal=True, gap="small"):
        for index, (question, filename) in enumerate(questions):
            if st.button(escape_md(question), key=f"suggest-{index}", icon=":material/lightbulb:",
                         help=f"From {escape_md(filename)}"):
                return question
    return None


def failed_in_the_cloud(message) -> bool:
    return message.role == "assistant" and message.status in ("error", "partial") and not is_offline(message.provider or "offline")


def answer(question: str, provider: str | None = None) -> None:
    with st.chat_message("user"):
        st.markdown(escape_md(question))
    with st.chat_message("assistant", avatar=clone.avatar):
        events = ask(runtime, clone.id, question, thread_id=thread.id if thread else None, provider=provider)
        turn = StreamedTurn(events)
        try:
            if (clone.embedding_provider or "minilm") == "minilm" and not loaded("embedder"):
                with st.spinner("Loading the offline search model, first time only…"):
                    write_stream(turn.text())
            else:
                write_stream(turn.text())
        except StudioError as error:
            state.flash(str(error), "error")
    if turn.thread_id:
        state.select_thread(turn.thread_id)
    st.rerun()


def model_menu() -> None:
    """The clone's model and voice, changed right here (it changes the clone everywhere)."""
    changed = clone_model_picker(runtime, clone, key=f"chat.model.{clone.id}")
    if not changed:
        return
    try:
        updated = update_clone(runtime, clone.id, **changed)
    except StudioError as error:
        state.flash(str(error), "error")
    else:
        state.flash(f"{updated.name} now answers with {updated.llm_model}" +
                    (" and speaks with its new voice." if "tts_voice" in changed else "."))
    st.rerun()


thread_list()
head, menu = st.columns([5, 1], vertical_alignment="center")
with head:
    clone_header(clone, thread.title if thread else "New chat", offline=is_offline(clone.llm_provider),
                 controls=model_menu)
with menu, st.container(horizontal=True, horizontal_alignment="right"):
    thread_menu()
state.show_flashes()
suggested = conversation()
question = st.chat_input(f"Ask {clone.name} something")
if suggested or question:
    answer(suggested or question)

if (payload := state.dialog("delete-thread")) is not None:
    delete_dialog(**payload)
