"""Voice page → Phone agent: connect the clone to a hosted ElevenLabs agent (created or updated
with the clone's prompt and voice and a webhook to this studio's knowledge tool), or disconnect
it after a confirmation. Shown only when an ElevenLabs key exists."""
from __future__ import annotations

import streamlit as st

from core.api.agent import connect_agent, disconnect_agent, public_url
from core.clones import get_clone
from core.errors import StudioError
from core.keys import resolve_key
from studio import state
from studio.components import confirm_delete
from studio.text import escape_md


def _connect(runtime, clone_id: str) -> None:
    try:
        with st.spinner("Setting up the agent at ElevenLabs…"):
            clone = connect_agent(runtime, clone_id)
    except StudioError as error:
        state.flash(str(error), "error")
        return
    state.flash(f"The ElevenLabs agent is ready (id {clone.elevenlabs_agent_id}). Call it from the ElevenLabs dashboard.")


@st.dialog("Disconnect the agent", on_dismiss=state.close_dialog)
def disconnect_dialog(runtime, clone_id: str, agent_id: str) -> None:
    st.markdown(f"Delete the ElevenLabs agent `{agent_id.replace('`', '')}`?")
    st.caption("Calls to it stop working and its service token is revoked. The clone itself is not changed.")
    confirm_delete("Delete agent", lambda: disconnect_agent(runtime, clone_id),
                   "Disconnected: the ElevenLabs agent was deleted.", icon=":material/link_off:")

def agent_panel(runtime, clone) -> None:
    """The section (nothing without an ElevenLabs key)."""
    if not resolve_key(runtime, "elevenlabs"):
        return
    st.subheader("Phone agent (ElevenLabs)", anchor=False)
    st.caption("A hosted ElevenLabs agent speaks as this clone on calls and looks things up in its knowledge "
               "through this studio's knowledge tool. ElevenLabs must be able to reach the studio at "
               "CLONE_STUDIO_PUBLIC_URL.")
    try:
        url = public_url()
        st.caption(f"Webhook: `{url.replace('`', '')}/api/tools/knowledge`")
    except StudioError as error:
        st.warning(escape_md(str(error)), icon=":material/warning:")
        url = None
    with runtime.session() as session:  # fresh: a connect in this run's callback changed it
        agent_id = get_clone(session, clone.id).elevenlabs_agent_id
    left, right = st.columns(2)
    if agent_id:
        st.markdown(f"Connected to agent `{agent_id.replace('`', '')}`.")
        left.button("Update agent", icon=":material/sync:", disabled=url is None, key="agent.connect",
                    on_click=_connect, args=(runtime, clone.id), help="Send the clone's current prompt and voice")
        if right.button("Disconnect", icon=":material/link_off:", key="agent.disconnect", type="tertiary"):
            state.open_dialog("disconnect-agent", clone_id=clone.id, agent_id=agent_id)
            st.rerun()
    else:
        left.button("Connect agent", icon=":material/add_call:", disabled=url is None, key="agent.connect",
                    on_click=_connect, args=(runtime, clone.id))
    if (payload := state.dialog("disconnect-agent")) is not None:
        disconnect_dialog(runtime, **payload)
