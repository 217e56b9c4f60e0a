"""Where the user is: the selected clone and thread.

Both live in the URL (`?clone=<id>&thread=<id>`) so a reload or a shared link lands on the
same place. They are mirrored in `st.session_state` because switching pages from the
sidebar clears the URL; the page then writes them back.
"""
from __future__ import annotations

import streamlit as st

from core.clones import list_clones
from core.models import Clone
from core.runtime import Runtime
from studio.text import escape_md

CLONE_PARAM = "clone"
THREAD_PARAM = "thread"
PAGE_CLONES = "app_pages/clones.py"
PAGE_KNOWLEDGE = "app_pages/knowledge.py"
PAGE_CHAT = "app_pages/chat.py"
PAGE_VOICE = "app_pages/voice.py"
PAGE_NEW_CLONE = "app_pages/new_clone.py"
PAGE_PROMPTS = "app_pages/prompts.py"
PAGE_QUALITY = "app_pages/quality.py"

_CLONE_KEY = "studio.clone_id"
_THREAD_KEY = "studio.thread_id"
_PICKER_KEY = "studio.clone_picker"
_FLASH_KEY = "studio.flash"


def all_clones(runtime: Runtime) -> list[Clone]:
    with runtime.session() as session:
        return list_clones(session)


def _match(clones: list[Clone], ref: str | None) -> Clone | None:
    if not ref:
        return None
    return next((c for c in clones if ref in (c.id, c.slug)), None)


NOT_FOUND_CLONE = "That clone was not found. It may have been deleted, or the link is wrong."
NOT_FOUND_THREAD = "That chat was not found. It may have been deleted, or the link is wrong."


def unknown_link(param: str, session_key: str, known_ids) -> bool:
    """True when the URL names a clone/thread that is not among `known_ids` (the owner's own) and this
    session did not select it itself: a link or reload to something missing or someone else's."""
    ref = st.query_params.get(param)
    if not ref or ref == st.session_state.get(session_key):
        return False
    return ref not in set(known_ids)


def current_clone(runtime: Runtime, clones: list[Clone] | None = None) -> Clone | None:
    """The clone named in the URL, else the one last selected in this session, else the first."""
    clones = all_clones(runtime) if clones is None else clones
    if unknown_link(CLONE_PARAM, _CLONE_KEY, [c.id for c in clones] + [c.slug for c in clones]):
        st.error(NOT_FOUND_CLONE, icon=":material/search_off:")
        st.query_params.pop(CLONE_PARAM, None)
        st.query_params.pop(THREAD_PARAM, None)
    if not clones:
        _forget()
        return None
    clone = (
        _match(clones, st.query_params.get(CLONE_PARAM))
        or _match(clones, st.session_state.get(_CLONE_KEY))
        or clones[0]
    )
    _remember(clone.id)
    return clone


def select_clone(clone_id: str) -> None:
    """Make `clone_id` the selected clone; its threads start unselected."""
    _remember(clone_id)


def _remember(clone_id: str) -> None:
    previous = st.session_state.get(_CLONE_KEY)
    if previous != clone_id:
        st.session_state[_CLONE_KEY] = clone_id
        if previous is not None:  # another clone: its thread no longer applies
            st.session_state.pop(_THREAD_KEY, None)
            st.query_params.pop(THREAD_PARAM, None)
    if st.query_params.get(CLONE_PARAM) != clone_id:
        st.query_params[CLONE_PARAM] = clone_id


def _forget() -> None:
    for key in (_CLONE_KEY, _THREAD_KEY):
        st.session_state.pop(key, None)
    for param in (CLONE_PARAM, THREAD_PARAM):
        st.query_params.pop(param, None)


def current_thread_id() -> str | None:
    """The thread in the URL, else the one last opened in this session (callers check it exists)."""
    thread_id = st.query_params.get(THREAD_PARAM) or st.session_state.get(_THREAD_KEY)
    if thread_id:
        select_thread(thread_id)
    return thread_id


def unknown_thread_link(threads) -> bool:
    """The URL names a chat that is not one of this clone's (missing, or someone else's): say so, drop it."""
    if not unknown_link(THREAD_PARAM, _THREAD_KEY, [t.id for t in threads]):
        return False
    st.error(NOT_FOUND_THREAD, icon=":material/search_off:")
    select_thread(None)
    return True


def select_thread(thread_id: str | None) -> None:
    if thread_id is None:
        st.session_state.pop(_THREAD_KEY, None)
        st.query_params.pop(THREAD_PARAM, None)
        return
    st.session_state[_THREAD_KEY] = thread_id
    if st.query_params.get(THREAD_PARAM) != thread_id:
        st.query_params[THREAD_PARAM] = thread_id


def clone_picker(runtime: Runtime) -> Clone | None:
    """The sidebar selector every page shares; returns the selected clone (None: no clones yet)."""
    clones = all_clones(runtime)
    clone = current_clone(runtime, clones)
    if clone is None:
        return None
    labels = {c.id: f"{c.avatar} {c.name}" for c in clones}
    st.session_state[_PICKER_KEY] = clone.id
    st.sidebar.selectbox(
        "Clone", list(labels), format_func=labels.__getitem__, key=_PICKER_KEY, on_change=_picked
    )
    return clone


def _picked() -> None:
    select_clone(st.session_state[_PICKER_KEY])


def go(page: str, clone_id: str, thread_id: str | None = None) -> None:
    """Switch page with the clone (and thread) selected and carried in the URL."""
    select_clone(clone_id)
    params = {CLONE_PARAM: clone_id}
    if thread_id:
        select_thread(thread_id)
        params[THREAD_PARAM] = thread_id
    st.switch_page(page, query_params=params)


def flash(message: str, kind: str = "success") -> None:
    """A plain-text message shown once, on the next run (survives `st.rerun`)."""
    st.session_state.setdefault(_FLASH_KEY, []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop(_FLASH_KEY, []):
        getattr(st, kind)(escape_md(message), icon=_FLASH_ICONS[kind])


_FLASH_ICONS = {
    "success": ":material/check_circle:",
    "info": ":material/info:",
    "warning": ":material/warning:",
    "error": ":material/error:",
}


_DIALOG_KEY = "studio.dialog"


def open_dialog(name: str, /, **payload) -> None:
    """Open a dialog by name; it stays open across reruns until `close_dialog()` or dismissal."""
    st.session_state[_DIALOG_KEY] = (name, payload)


def dialog(name: str) -> dict | None:
    """The payload of the open dialog called `name`, else None."""
    current = st.session_state.get(_DIALOG_KEY)
    return current[1] if current and current[0] == name else None


def close_dialog() -> None:
    st.session_state.pop(_DIALOG_KEY, None)


def require_clone(runtime: Runtime) -> Clone:
    """The page guard: the selected clone, or an empty state pointing to the Clones page (and stop)."""
    clone = clone_picker(runtime)
    if clone is None:
        with st.container(border=True):
            st.markdown("### :material/groups: No clones yet")
            st.caption("Create a clone first; then you can give it documents and chat with it.")
            st.page_link(PAGE_CLONES, label="Go to Clones", icon=":material/arrow_forward:")
        st.stop()
    return clone
