"""The Call page's Streamlit side: one CallSession per browser session, wired to
streamlit-webrtc (audio only, SENDRECV, no ICE servers unless configured), and the Settings
block for ICE servers."""
from __future__ import annotations

import logging
import threading

import streamlit as st

from core.call import ice
from core.call.session import CallSession
from core.errors import StudioError
from studio.text import escape_md

log = logging.getLogger(__name__)
KEY = "call.webrtc"
SESSION = "call.session"
OBSERVER = "call.observer"
CONSTRAINTS = {
    "audio": {"echoCancellation": True, "noiseSuppression": True, "autoGainControl": True, "channelCount": 1},
    "video": False,
}
TRANSLATIONS = {
    "start": "Start call",
    "stop": "End call",
    "media_api_not_available": "This browser cannot use a microphone on this address: away from this computer, "
                               "the studio must be opened over HTTPS.",
    "device_ask_permission": "Allow the microphone to talk to the clone.",
    "device_not_available": "No microphone was found; plug one in and press Start call again.",
    "device_access_denied": "The browser refused the microphone. Allow it from the address bar (away from this "
                            "computer the studio must be opened over HTTPS), then press Start call again.",
}


@st.cache_resource(show_spinner=False)
def warm_models(clone_id: str) -> threading.Thread:
    """Load the call's offline models once per process, in the background, when the Call page
    opens, so pressing Start does not wait for them."""
    from studio.runtime import get_runtime

    runtime = get_runtime()

    def warm() -> None:
        from core.call.turn import warm_up
        from core.models import Clone

        try:  # the clone's models only (no owner data leaves this thread): any owner's clone warms them
            with runtime.session() as session:
                warm_up(runtime, session.get(Clone, clone_id))
        except Exception:  # the call itself reports problems; warming is only a head start
            log.warning("Warming the call's models failed", exc_info=True)

    thread = threading.Thread(target=warm, name="warm-call-models", daemon=True)
    thread.start()
    return thread


def current_session(runtime, clone, thread_id: str | None, patience: float, speakerphone: bool) -> CallSession:
    """This browser session's call: kept across reruns, replaced once it ended or the clone changed."""
    session: CallSession | None = st.session_state.get(SESSION)
    stale = session is not None and (session.clone.id != clone.id or session.snapshot()["status"] == "ended")
    if session is None or stale:
        if stale:
            _end(session)
        session = CallSession(runtime, clone.id, thread_id, patience=patience, speakerphone=speakerphone)
        st.session_state[SESSION] = session
        st.session_state[OBSERVER] = _observer(session.stop)  # the tab closes or the page changes
    session.set_patience(patience)
    session.set_speakerphone(speakerphone)
    return session


def in_browser() -> bool:
    """True in a real browser session (streamlit-webrtc needs one; AppTest has none)."""
    from streamlit_webrtc.session_info import get_this_session_info

    try:
        return get_this_session_info() is not None
    except AttributeError:
        return False


def _observer(callback):
    """streamlit-webrtc's watcher that calls `callback` when the browser session ends or leaves the page."""
    from streamlit_webrtc.shutdown import SessionShutdownObserver

    return SessionShutdownObserver(callback) if in_browser() else None


def _end(session: CallSession) -> None:
    session.stop()
    observer = st.session_state.pop(OBSERVER, None)
    if observer is not None:
        observer.stop()


def call_widget(runtime, session: CallSession):
    """The Start / End control; audio in through a sink track, the answer out through the reply track."""
    from streamlit_webrtc import WebRtcMode, create_audio_sink_track, webrtc_streamer

    if not in_browser():
        st.caption("The call starts from a browser: open the studio's address to use it.")
        return None
    sink = create_audio_sink_track(session.push_frame, key="call.in")

    def on_change() -> None:
        context = st.session_state.get(KEY)
        if context is None:
            return
        if context.state.playing and not session.running:
            session.start()
        elif not context.state.playing and not context.state.signalling and session.started_at is not None:
            session.stop()
            sink.stop()

    return webrtc_streamer(
        key=KEY, mode=WebRtcMode.SENDRECV, rtc_configuration=ice.rtc_configuration(runtime),
        media_stream_constraints=CONSTRAINTS, sink_audio_track=sink, source_audio_track=session.track,
        audio_html_attrs={"autoPlay": True, "controls": False}, translations=TRANSLATIONS,
        media_toggle_controls=False, on_change=on_change,
    )


def ice_settings(runtime) -> None:
    """Settings page block: STUN/TURN servers for calls from other networks (none by default)."""
    with st.container(border=True):
        st.markdown("**Voice calls: ICE servers**")
        source = ice.source(runtime)
        try:
            servers = ice.ice_servers(runtime)
        except StudioError as error:
            st.error(escape_md(str(error)), icon=":material/error:")
            servers = []
        if not servers:
            st.caption("None: calls connect directly, which works on this computer and its local network, and "
                       "nothing is sent to a public STUN or TURN server. Add one for callers on other networks.")
        for line in ice.describe(servers):
            st.caption(escape_md(line) + (" (from CLONE_STUDIO_ICE_SERVERS)" if source == "environment" else ""))
        if source == "environment":
            return
        with st.form("settings.ice", border=False):
            st.text_area("ICE servers (JSON)", key="settings.ice.text", height=90,
                         placeholder='[{"urls": ["turn:turn.example.com:3478"], "username": "user", "credential": "secret"}]',
                         help="Leave blank and save to remove them. The credential is stored encrypted.")
            st.form_submit_button("Save ICE servers", icon=":material/save:", on_click=_save_ice, args=(runtime,))


def _save_ice(runtime) -> None:
    """Form callback: store the servers and forget the field (it may hold a TURN credential)."""
    from studio import state

    text = st.session_state.pop("settings.ice.text", "")
    try:
        servers = ice.save(runtime, text)
    except StudioError as error:
        state.flash(str(error), "error")
        return
    count = len(servers)
    state.flash(f"Saved {count} ICE server{'s' if count != 1 else ''} for calls." if count else "Removed the ICE servers for calls.")
