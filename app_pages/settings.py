"""Settings: API keys per provider (encrypted at rest, only ever shown masked), a connection
test with a plain verdict, and the default provider and model per capability."""
import streamlit as st

from core import keys
from core.errors import StudioError
from core.preferences import CAPABILITIES, base_url, defaults, set_base_url, set_default
from core.providers import catalog
from core.providers.overview import SOURCES, overview, test_connection
from studio import state
from studio.api_tokens import api_tokens_section
from studio.call import ice_settings
from studio.provider_picker import llm_picker
from studio.runtime import owner_runtime
from studio.team import admin_panel, budget_panel
from studio.text import escape_md

runtime = owner_runtime()
_VERDICT = "settings.verdict."


def _field(provider: str) -> str:
    return f"settings.key.{provider}"


def _url_field(provider: str) -> str:
    return f"settings.url.{provider}"


def _save(provider: str, label: str) -> None:
    """Form callback: store the typed key and empty the field (in the browser too), so the key never
    stays in the session or on the page."""
    typed = st.session_state.get(_field(provider), "")
    st.session_state[_field(provider)] = ""  # a value set from the server also replaces what the browser shows
    try:
        if _url_field(provider) in st.session_state:
            set_base_url(runtime, provider, st.session_state[_url_field(provider)])
        changed = keys.save_key(runtime, provider, typed)
    except StudioError as error:
        state.flash(str(error), "error")
        return
    st.session_state.pop(_VERDICT + provider, None)
    state.flash(f"Saved the {label} key." if changed else f"Saved. The {label} key was left as it was (the field was blank).")


def _status(item) -> str:
    if item.key_problem:
        return item.key_problem
    if item.key_source:
        return f"Key {SOURCES[item.key_source]}: `{item.masked}`"
    return "No key yet." if item.key_required else "No key (most local servers need none)."


def clear_key_fields() -> None:
    """On every run, before the fields exist: empty every key field, so no typed key survives a rerun."""
    for provider in keys.PROVIDERS:
        st.session_state[_field(provider)] = ""


def key_card(item) -> None:
    with st.container(border=True):
        st.markdown(f"**{escape_md(item.label)}** · {', '.join(item.capabilities) or 'speech'}")
        st.caption(_status(item))
        with st.form(f"settings.form.{item.name}", border=False):
            st.text_input(
                "API key", type="password", key=_field(item.name), autocomplete="off",
                placeholder="Paste a new key (leave blank to keep the current one)",
            )
            if item.name == "openai_compatible":
                st.text_input("Server base URL", value=base_url(runtime, item.name) or "", key=_url_field(item.name),
                              help="Ollama: http://127.0.0.1:11434/v1 · llama.cpp: http://127.0.0.1:8080/v1 · "
                                   "LM Studio: http://127.0.0.1:1234/v1 · vLLM: http://127.0.0.1:8000/v1")
            st.form_submit_button("Save", on_click=_save, args=(item.name, item.label), icon=":material/save:")
        test, delete = st.columns(2)
        if test.button("Test connection", key=f"settings.test.{item.name}", icon=":material/network_check:"):
            with st.spinner(f"Trying {item.label}…"):
                verdict = test_connection(runtime, item.name)
            st.session_state[_VERDICT + item.name] = (verdict.ok, verdict.message)
        if item.key_source == "settings" and delete.button(
            "Delete saved key", key=f"settings.delete.{item.name}", icon=":material/delete:", type="tertiary"
        ):
            state.open_dialog("delete-key", provider=item.name, label=item.label)
            st.rerun()
        if (verdict := st.session_state.get(_VERDICT + item.name)) is not None:
            ok, message = verdict
            (st.success if ok else st.error)(escape_md(message), icon=":material/check_circle:" if ok else ":material/error:")


@st.dialog("Delete saved key", on_dismiss=state.close_dialog)
def delete_dialog(provider: str, label: str) -> None:
    st.markdown(f"Delete the saved **{escape_md(label)}** key?")
    st.caption("Clones using this provider stop working until a key is added again, unless one was given "
               "to the studio when it was started.")
    confirm, cancel = st.columns(2)
    if confirm.button("Delete key", type="primary", icon=":material/delete:", width="stretch"):
        keys.delete_key(runtime, provider)
        st.session_state.pop(_VERDICT + provider, None)
        state.flash(f"Deleted the saved {label} key.")
        state.close_dialog()
        st.rerun()
    if cancel.button("Cancel", width="stretch"):
        state.close_dialog()
        st.rerun()


def _choice(capability: str, names: list[str], current: dict) -> tuple[str, str]:
    provider = st.selectbox(CAPABILITIES[capability], names, index=names.index(current["provider"]) if current["provider"] in names else 0,
                            key=f"settings.default.{capability}", format_func=catalog.provider_label)
    model = catalog.default_model(provider, "embedding") if capability == "embedding" else ""
    return provider, model


def defaults_panel() -> None:
    from core.providers.speech import stt_names, tts_names

    st.subheader("Defaults for new clones", anchor=False)
    current = defaults(runtime)
    chosen = {"llm": llm_picker(runtime, current["llm"]["provider"], current["llm"]["model"], key="settings.default.llm")}
    embedders = [name for name in catalog.providers() if catalog.models(name, "embedding")]
    chosen["embedding"] = _choice("embedding", embedders, current["embedding"])
    chosen["tts"] = _choice("tts", tts_names(), current["tts"])
    chosen["stt"] = _choice("stt", stt_names(), current["stt"])
    if st.button("Save defaults", type="primary", icon=":material/save:"):
        for capability, (provider, model) in chosen.items():
            set_default(runtime, capability, provider, model)
        st.success("Saved. New clones start with these providers.", icon=":material/check_circle:")


st.title("Settings", anchor=False)
state.show_flashes()
st.caption(
    "Keys saved here are encrypted before they are stored, and only ever shown as their last four characters. "
    "Without a saved key, the studio uses a key given to it when it was started, if there is one "
    "(the README says how)."
)
clear_key_fields()
st.subheader("API keys", anchor=False)
found = {item.name: item for item in overview(runtime, live=False)}
cards = [found[name] for name in keys.PROVIDERS]
left, right = st.columns(2, gap="large")
for index, item in enumerate(cards):
    with (left if index % 2 == 0 else right):
        key_card(item)
st.divider()
defaults_panel()
st.divider()
budget_panel(runtime)
admin_panel(runtime)
st.divider()
api_tokens_section(runtime)
ice_settings(runtime)  # voice calls: STUN/TURN servers, none by default

if (payload := state.dialog("delete-key")) is not None:
    delete_dialog(**payload)
