"""Settings → Service API: make a token (shown once), list tokens with when each was last
used, revoke one after a confirmation, and the repeated-query cache's hit and miss counts."""
from __future__ import annotations

import streamlit as st

from core.api.cache import get_cache
from core.api.tokens import create_token, list_tokens, masked, revoke_token
from core.errors import StudioError
from studio import state
from studio.components import confirm_delete
from studio.text import escape_md

_NEW = "settings.api.new_token"
_NAME = "settings.api.name"


def _create(runtime) -> None:
    """Form callback: make the token and keep it only until the next run has shown it."""
    try:
        made = create_token(runtime, st.session_state.get(_NAME, ""), runtime.owner_id)
    except StudioError as error:
        state.flash(str(error), "error")
        return
    st.session_state[_NAME] = ""
    st.session_state[_NEW] = (made.name, made.token)


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


@st.dialog("Revoke token", on_dismiss=state.close_dialog)
def revoke_dialog(runtime, name: str, shown: str) -> None:
    st.markdown(f"Revoke **{escape_md(name)}** (`{shown}`)?")
    st.caption("Programs using it get 401 from their next request on. This cannot be undone; make a new token instead.")
    confirm_delete("Revoke token", lambda: revoke_token(runtime, name, runtime.owner_id),
                   f"Revoked the token '{name}'.", icon=":material/key_off:")

def api_tokens_section(runtime) -> None:
    """The whole section; `runtime` acts for the signed-in owner (or the local one)."""
    st.subheader("Service API", anchor=False)
    st.caption("Other programs and hosted voice agents call `/api/...` on this studio with a token: "
               "`Authorization: Bearer TOKEN` (or `X-Service-Token: TOKEN`). A token sees only your clones. "
               "Tokens are stored only as a hash, so a token is shown once, when it is made.")
    if (new := st.session_state.pop(_NEW, None)) is not None:
        name, token = new
        st.success(f"Made the token '{escape_md(name)}'. Copy it now (the copy button is at the right of the box): "
                   "it is not shown again.", icon=":material/key:")
        st.code(token, language=None)
    with st.form("settings.api.create", border=False):
        st.text_input("Token name", key=_NAME, placeholder="e.g. phone agent", max_chars=60)
        st.form_submit_button("Create token", on_click=_create, args=(runtime,), icon=":material/add:")
    tokens = list_tokens(runtime, runtime.owner_id)
    if not tokens:
        st.caption("No tokens yet.")
    for row in tokens:
        name, shown, used, revoke = st.columns([3, 3, 3, 2], vertical_alignment="center")
        name.markdown(f"**{escape_md(row.name)}**")
        shown.markdown(f"`{masked(row)}`")
        used.caption(f"Last used {_when(row.last_used_at)} · made {_when(row.created_at)}")
        if revoke.button("Revoke", key=f"settings.api.revoke.{row.id}", icon=":material/key_off:", type="tertiary"):
            state.open_dialog("revoke-token", name=row.name, shown=masked(row))
            st.rerun()
    stats = get_cache().stats(runtime.owner_id)
    st.caption(f"Repeated-query cache ({'Redis' if stats['backend'] == 'redis' else 'in memory'}): "
               f"{stats['hits']} hits, {stats['misses']} misses, {stats['invalidated']} answers dropped after a clone changed.")
    if (payload := state.dialog("revoke-token")) is not None:
        revoke_dialog(runtime, **payload)
