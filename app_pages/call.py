"""Call: talk to the clone through the microphone and hear it answer in its own voice, with
the same citations as Chat. Everything said is saved in a conversation as it happens."""
import streamlit as st

from core.conversations import thread_messages
from core.voices import tts_label
from studio import state
from studio.call import call_widget, current_session, warm_models
from studio.components import clone_header, message_bubble
from studio.runtime import owner_runtime
from studio.text import escape_md

runtime = owner_runtime()
clone = state.require_clone(runtime)
warming = warm_models(clone.id)
STATUS = {
    "ready": ("Ready: press Start call", "gray", ":material/call:"),
    "preparing": ("Preparing the voice…", "gray", ":material/hourglass_top:"),
    "connecting": ("Connecting", "gray", ":material/sync:"),
    "listening": ("Listening", "green", ":material/hearing:"),
    "hearing you": ("Hearing you", "blue", ":material/mic:"),
    "thinking": ("Thinking", "orange", ":material/psychology:"),
    "speaking": ("Speaking", "violet", ":material/volume_up:"),
    "ended": ("Call ended", "gray", ":material/call_end:"),
}

clone_header(clone, f"Voice call · {tts_label(clone.tts_provider or 'offline')} · {clone.tts_voice or 'default voice'}")
state.show_flashes()

with st.container(horizontal=True, vertical_alignment="bottom"):
    patience = st.slider("Patience", 0.4, 1.2, 0.6, 0.1, key="call.patience", format="%.1f s", width=260,
                         help="How long a pause ends your turn.")
    speakerphone = st.toggle("Speakerphone mode", key="call.speakerphone",
                             help="The clone stops listening while it speaks: for speakers without echo cancelling.")
    muted = st.toggle("Mute", key="call.muted", help="The clone hears nothing while this is on.")

session = current_session(runtime, clone, state.current_thread_id(), patience, speakerphone)
session.set_muted(muted)
context = call_widget(runtime, session)
st.caption("Speak after the status says Listening; the clone answers when you pause. Talk over it to interrupt. "
           "Away from this computer the microphone only works when the studio is opened over HTTPS.")


def transcript(thread_id: str | None, snap: dict) -> None:
    messages = []
    if thread_id:
        with runtime.session() as db:
            messages = thread_messages(db, thread_id)
        for message in messages:
            message_bubble(message, avatar=clone.avatar)
    answering = not messages or messages[-1].role == "user"  # the answer is not saved yet: show it as it is said
    if answering and snap["status"] in ("thinking", "speaking") and snap["answer"]:
        with st.chat_message("assistant", avatar=clone.avatar):
            st.text(snap["answer"])


def live(snap: dict) -> None:
    if session.started_at is None:
        snap["status"] = "preparing" if warming.is_alive() else "ready"
    label, color, icon = STATUS.get(snap["status"], (snap["status"].title(), "gray", None))
    st.badge(label, color=color, icon=icon)
    if snap["error"]:
        st.error(escape_md(snap["error"]), icon=":material/error:")
    elif snap["notice"]:
        st.warning(escape_md(snap["notice"]), icon=":material/warning:")
    if snap["offer_speakerphone"]:
        st.info("The clone stopped twice for sounds that were not you. If you are on speakers, turn on "
                "speakerphone mode above.", icon=":material/speaker_phone:")
    if snap["thread_id"] and snap["thread_id"] != state.current_thread_id():
        state.select_thread(snap["thread_id"])
    transcript(snap["thread_id"], snap)


running = session.running or bool(context is not None and context.state.playing) or warming.is_alive()


@st.fragment(run_every="0.5s" if running else None)
def live_panel() -> None:
    live(session.snapshot())


live_panel()
