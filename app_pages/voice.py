"""Voice: pick how a clone sounds from every configured provider, tune it, preview it, try it out."""
import streamlit as st

from core import voices
from core.errors import StudioError
from core.providers.speech import Voice, get_tts
from studio import state
from studio.agent_panel import agent_panel
from studio.components import clone_header
from studio.runtime import first_use, owner_runtime
from studio.text import escape_md, plural

CARDS_SHOWN = 48
GALLERY_HEIGHT = 620  # the cards scroll; the chosen voice's panel stays in view
_CHOSEN = "voice.chosen"
_PREVIEW = "voice.preview"
_SPOKEN = "voice.spoken"
ALL = ""

runtime = owner_runtime()
clone = state.require_clone(runtime)


def speaking(provider: str) -> str:
    if provider == "offline":
        return first_use("voice", "the offline voice", "Speaking…")
    return f"Asking {voices.tts_label(provider)} to speak…"


def fail(error: StudioError) -> None:
    st.error(escape_md(str(error)), icon=":material/error:")


def voice_in_use(pool: list[Voice]) -> Voice:
    """The clone's own voice, described from the gallery when it is listed there."""
    try:
        choice = voices.choose_voice(runtime, clone)
    except StudioError as error:
        fail(error)
        choice = voices.choose_voice(runtime, provider="offline")
    known = next((v for v in pool if (v.provider, v.voice_id) == (choice.tts.name, choice.voice)), None)
    return known or Voice(choice.tts.name, choice.voice, choice.voice)


def details(voice: Voice) -> str:
    languages = ", ".join(voices.language_name(code) for code in voice.languages[:4])
    more = f" +{len(voice.languages) - 4}" if len(voice.languages) > 4 else ""
    return " · ".join(part for part in (voice.gender.title(), voice.accent.title(), languages + more) if part)


def filters(facets: dict[str, list[str]]) -> dict[str, str]:
    chosen = {"query": st.text_input("Search voices", placeholder="Name or description", key="voice.search",
                                     icon=":material/search:")}
    provider, gender, language, accent = st.columns(4)
    names = {"provider": voices.tts_label, "language": voices.language_name, "gender": str.title, "accent": str.title}
    for column, facet in zip((provider, gender, language, accent), ("provider", "gender", "language", "accent")):
        chosen[facet] = column.selectbox(
            facet.title(), [ALL, *facets[facet]], key=f"voice.filter.{facet}",
            format_func=lambda value, facet=facet: names[facet](value) if value else f"Any {facet}",
        )
    return chosen


def voice_card(voice: Voice, in_use: bool, selected: bool) -> None:
    with st.container(border=True):
        st.markdown(f"**{escape_md(voice.name)}**")
        badges = st.container(horizontal=True)
        with badges:
            st.badge(voices.tts_label(voice.provider), color="blue")
            if voice.custom:
                st.badge("Custom", icon=":material/star:", color="violet")
            if in_use:
                st.badge("In use", icon=":material/check:", color="green")
        st.caption(escape_md(details(voice)) or "No details from the provider.")
        if voice.description:
            st.caption(escape_md(voice.description))
        if st.button("Selected" if selected else "Choose", key=f"choose-{voice.provider}-{voice.voice_id}",
                     disabled=selected, icon=":material/graphic_eq:", width="stretch"):
            st.session_state[_CHOSEN] = voice.to_dict()
            st.session_state.pop(_PREVIEW, None)
            st.rerun()


def gallery_panel(result: voices.Gallery, chosen: Voice, in_use: Voice) -> None:
    for provider, note in result.notes.items():
        st.info(f"{voices.tts_label(provider)}: showing the {'saved' if result.sources[provider] == 'cached' else 'bundled'} "
                f"list of voices. {escape_md(note)}", icon=":material/cloud_off:")
    picked = filters(voices.facets(result.voices))
    shown = voices.filter_voices(result.voices, **picked)
    st.caption(f"{plural(len(shown), 'voice')}" + (f", showing the first {CARDS_SHOWN}; search to narrow" if len(shown) > CARDS_SHOWN else ""))
    if not shown:
        st.info("No voices match; clear a filter or search for another name.", icon=":material/search_off:")
    columns = st.container(height=GALLERY_HEIGHT, border=False).columns(3)
    for index, voice in enumerate(shown[:CARDS_SHOWN]):
        with columns[index % 3]:
            key = (voice.provider, voice.voice_id)
            voice_card(voice, key == (in_use.provider, in_use.voice_id), key == (chosen.provider, chosen.voice_id))


def tuning_controls(voice: Voice) -> dict:
    """Sliders on the chosen provider's own scales, starting from the clone's settings when it uses this provider."""
    tts = get_tts(voice.provider, runtime)
    saved = clone.voice_settings if voice.provider == clone.tts_provider else {}
    start = tts.settings(saved)
    values = {}
    for tuning in tts.tunings:
        values[tuning.key] = st.slider(
            tuning.label, tuning.minimum, tuning.maximum, float(start[tuning.key]), tuning.step,
            help=tuning.help, key=f"voice.tune.{voice.provider}.{tuning.key}",
        )
    if tts.languages:
        default = start.get("language") or tts.languages[0]
        values["language"] = st.selectbox("Language", tts.languages, index=tts.languages.index(default),
                                          key=f"voice.tune.{voice.provider}.language")
    return values


def chosen_panel(voice: Voice) -> None:
    st.subheader(voice.name, anchor=False)
    st.caption(escape_md(f"{voices.tts_label(voice.provider)} · {details(voice)}".rstrip(" ·")))
    settings = tuning_controls(voice)
    line = st.radio("Preview with", ["The clone's last answer", "A standard line"], horizontal=True, key="voice.line")
    stt_options = voices.configured_stt(runtime)
    stt = st.selectbox("Listen with (speech to text)", stt_options, format_func=voices.stt_label, key="voice.stt",
                       index=stt_options.index(clone.stt_provider) if clone.stt_provider in stt_options else 0)
    preview, use = st.columns(2)
    if preview.button("Preview", type="primary", icon=":material/play_arrow:", width="stretch"):
        text = voices.preview_text(runtime, clone, own_words=line.startswith("The clone"))
        try:
            with st.spinner(speaking(voice.provider)):
                spoken = voices.speak(runtime, text, clone=clone, provider=voice.provider, voice=voice.voice_id,
                                      settings=settings)
            st.session_state[_PREVIEW] = (spoken.audio.wav(), text)
        except StudioError as error:
            fail(error)
    if use.button("Use this voice", icon=":material/check:", width="stretch"):
        try:
            voices.assign_voice(runtime, clone.id, voice.provider, voice.voice_id, settings, stt_provider=stt)
            state.flash(f"{clone.name} now speaks with {voice.name} ({voices.tts_label(voice.provider)}).")
            st.rerun()
        except StudioError as error:
            fail(error)
    if audio := st.session_state.get(_PREVIEW):
        st.audio(audio[0], format="audio/wav")
        st.caption(f"“{escape_md(audio[1])}”")


def playground_panel() -> None:
    st.caption(f"Type anything and hear it in {escape_md(clone.name)}'s voice.")
    with st.form("voice-playground", border=False):
        text = st.text_area("Text to speak", value=voices.preview_text(runtime, clone), height=140)
        if st.form_submit_button("Speak", type="primary", icon=":material/record_voice_over:"):
            try:
                with st.spinner(speaking(clone.tts_provider or "offline")):
                    st.session_state[_SPOKEN] = voices.speak(runtime, text, clone=clone).audio.wav()
            except StudioError as error:
                fail(error)
    if audio := st.session_state.get(_SPOKEN):
        st.audio(audio, format="audio/wav")
        st.download_button("Download WAV", audio, file_name=f"{clone.slug}-voice.wav", mime="audio/wav",
                           icon=":material/download:")


def usage_panel() -> None:
    st.subheader("Characters spoken today", anchor=False)
    used = voices.chars_today(runtime)
    if not used:
        st.caption("Nothing spoken yet today.")
        return
    columns = st.columns(max(len(used), 1))
    for column, (provider, characters) in zip(columns, sorted(used.items())):
        column.metric(voices.tts_label(provider), f"{characters:,}")


clone_header(clone, "Voice: choose how this clone sounds, tune it, and hear it speak.")
state.show_flashes()
top = st.columns([4, 1], vertical_alignment="center")
refresh = top[1].button("Refresh voices", icon=":material/refresh:", width="stretch",
                        help="Fetch the voice lists again instead of using the hour-long cache.")
result = voices.gallery(runtime, refresh=refresh)
in_use = voice_in_use(result.voices)
chosen = Voice.from_dict(st.session_state[_CHOSEN]) if _CHOSEN in st.session_state else in_use
top[0].markdown(f"Speaking with **{escape_md(in_use.name)}** ({escape_md(voices.tts_label(in_use.provider))}).")
gallery_tab, playground_tab = st.tabs([":material/library_music: Gallery", ":material/mic: Playground"])
with gallery_tab:
    left, right = st.columns([3, 2], gap="large")
    with left:
        gallery_panel(result, chosen, in_use)
    with right, st.container(border=True):
        chosen_panel(chosen)
with playground_tab:
    playground_panel()
    st.divider()
    usage_panel()
agent_panel(runtime, clone)
