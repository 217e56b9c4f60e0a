"""The reusable provider widgets (studio/provider_picker.py) through AppTest, as the Clones and
Chat pages use them."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core import keys
from core.clones import create_clone
from core.preferences import set_base_url
from tests.fakes import openai as fake_openai
from tests.fakes.fixtures import fake_server, no_outside_keys  # noqa: F401
from tests.fakes.pages import TIMEOUT, app, button, no_exception, studio_runtime, texts  # noqa: F401


def settings_app(clone_id: str) -> None:
    import streamlit as st

    from core.clones import update_clone
    from core.models import Clone
    from studio.provider_picker import generation_settings, retrieval_settings, speech_settings
    from studio.runtime import get_runtime

    runtime = get_runtime()
    with runtime.session() as session:
        clone = session.get(Clone, clone_id)
    fields = {**generation_settings(runtime, clone, key="t"), **retrieval_settings(clone, key="t"),
              **speech_settings(runtime, clone, key="t")}
    st.session_state["fields"] = fields
    if st.button("Save"):
        update_clone(runtime, clone_id, **fields)


def fallback_app(status: str, provider: str) -> None:
    import streamlit as st

    from core.models import Message
    from studio.provider_picker import offline_fallback

    message = Message(conversation_id="c", role="assistant", content="Half an ans", status=status, provider=provider,
                      error="OpenAI is rate limiting requests; wait a minute and try again, or switch to another provider.")
    st.session_state["clicked"] = offline_fallback(message, key="fallback")


def embedder_app(clone_id: str) -> None:
    import streamlit as st

    from core.models import Clone
    from studio.provider_picker import embedder_switch
    from studio.runtime import get_runtime

    runtime = get_runtime()
    with runtime.session() as session:
        clone = session.get(Clone, clone_id)
    updated = embedder_switch(runtime, clone, key="e")
    if updated is not None:
        st.success(f"Now using {updated.embedding_provider}.")


def run(script, **kwargs) -> AppTest:
    at = AppTest.from_function(script, default_timeout=TIMEOUT, kwargs=kwargs)
    at.run()
    no_exception(at)
    return at


def test_model_picker_shows_context_window_and_price_and_saves_clone_settings(studio_runtime, no_outside_keys):
    clone = create_clone(studio_runtime, "Picky")
    at = run(settings_app, clone_id=clone.id)
    assert "8,192 tokens context · free" in texts(at)
    at.selectbox(key="t.llm.provider").select("openai").run()
    no_exception(at)
    assert at.selectbox(key="t.llm.model.openai").value == "gpt-4o-mini"
    assert "128,000 tokens context · $0.15 in / $0.6 out per 1M tokens" in texts(at)
    assert "OpenAI needs an API key; add it on the Settings page." in texts(at)
    at.selectbox(key="t.llm.model.openai").select("gpt-5-mini").run()
    assert at.slider(key="t.temperature").disabled  # reasoning model: fixed temperature
    at.selectbox(key="t.llm.model.openai").select("gpt-4o").run()
    at.slider(key="t.temperature").set_value(0.8).run()
    at.number_input(key="t.max_tokens").set_value(900).run()
    at.slider(key="t.top_k").set_value(7).run()
    at.toggle(key="t.hybrid").set_value(False).run()
    button(at, "Save").click().run()
    no_exception(at)
    with studio_runtime.session() as session:
        from core.models import Clone

        saved = session.get(Clone, clone.id)
    assert (saved.llm_provider, saved.llm_model, saved.temperature, saved.max_tokens) == ("openai", "gpt-4o", 0.8, 900)
    assert (saved.top_k, saved.hybrid) == (7, False)


def test_any_model_id_can_be_typed_for_a_compatible_server(studio_runtime, no_outside_keys):
    set_base_url(studio_runtime, "openai_compatible", "http://127.0.0.1:9/v1")  # not running: registry only
    clone = create_clone(studio_runtime, "Local")
    at = run(settings_app, clone_id=clone.id)
    at.selectbox(key="t.llm.provider").select("openai_compatible").run()
    at.selectbox(key="t.llm.model.openai_compatible").select("__custom__").run()
    at.text_input(key="t.llm.custom.openai_compatible").input("qwen2.5:7b").run()
    no_exception(at)
    assert at.session_state["fields"]["llm_model"] == "qwen2.5:7b"
    assert "price" in texts(at) or "free" in texts(at)


def test_offline_fallback_offer(app):
    at = run(fallback_app, status="error", provider="openai")
    assert "OpenAI is rate limiting requests" in texts(at)
    assert at.session_state["clicked"] is False
    button(at, "Answer offline instead").click().run()
    assert at.session_state["clicked"] is True
    quiet = run(fallback_app, status="complete", provider="openai")
    assert not [b for b in quiet.button if b.label == "Answer offline instead"]
    offline = run(fallback_app, status="error", provider="offline")
    assert not [b for b in offline.button if b.label == "Answer offline instead"]


def test_embedder_switch_asks_then_reindexes(studio_runtime, no_outside_keys, fake_server):
    from core.knowledge.ingest import ingest_now

    fake_server.route("POST", "/v1/embeddings", fake_openai.embeddings_handler)
    keys.save_key(studio_runtime, "openai", "sk-embed-0123456789")
    set_base_url(studio_runtime, "openai", f"{fake_server.url}/v1")
    clone = create_clone(studio_runtime, "Switcher")
    ingest_now(studio_runtime, clone.id, "tea.md", b"# Tea\n\nGreen tea is steamed. Black tea is oxidised.")
    at = run(embedder_app, clone_id=clone.id)
    at.selectbox(key="e.embedder").select("openai").run()
    no_exception(at)
    assert "re-embeds 1 passage from 1 document" in texts(at)
    assert not fake_server.requests  # nothing happens before the click
    button(at, "Switch and re-index with OpenAI").click().run()
    no_exception(at)
    assert "Now using openai." in texts(at)
    assert fake_server.calls("POST", "/v1/embeddings")
