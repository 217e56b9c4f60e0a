"""The Settings page through AppTest: keys saved encrypted and shown masked, blank keeps, delete
with confirmation, connection verdicts, defaults; a canary key never leaks anywhere."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from core import keys
from core.preferences import base_url, defaults, set_base_url
from tests.fakes import openai as fake_openai
from tests.fakes.fixtures import fake_server, no_outside_keys  # noqa: F401
from tests.fakes.pages import TIMEOUT, app, button, no_exception, rendered, studio_runtime, texts  # noqa: F401

CANARY = "sk-CANARY-d41d8cd98f00b204e980"
PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "settings.py")


@pytest.fixture
def page(app, no_outside_keys):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    no_exception(at)
    return at


def save(at: AppTest, provider: str, value: str) -> AppTest:
    at.text_input(key=f"settings.key.{provider}").input(value)
    [submit] = [b for b in at.button if b.form_id == f"settings.form.{provider}"]
    submit.click().run()
    no_exception(at)
    return at


def session_text(at: AppTest) -> str:
    raw = at.session_state._state._state  # the SessionState behind st.session_state
    return "\n".join(repr(part) for part in (
        at.session_state.to_dict(), raw._old_state, raw._new_session_state, raw._new_widget_state.states,
    ))


def test_page_renders_every_keyed_provider_in_plain_words(page):
    assert {t.key for t in page.text_input if t.key.startswith("settings.key.")} == {f"settings.key.{p}" for p in keys.PROVIDERS}
    page_text = texts(page)
    assert "Settings" in page_text and "No key yet." in page_text and "last four characters" in page_text
    for developer_text in ("secret.key", "secrets.toml", "_API_KEY", "CLONE_STUDIO_"):
        assert developer_text not in page_text
    assert all(t.value == "" for t in page.text_input if t.key.startswith("settings.key."))


def test_a_canary_key_is_stored_encrypted_and_never_leaks(page, studio_runtime, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    save(page, "openai", CANARY)
    assert keys.resolve_key(studio_runtime, "openai") == CANARY
    assert "Saved the OpenAI key." in texts(page)
    assert f"••••{CANARY[-4:]}" in texts(page)
    page.run()  # and one more plain rerun
    no_exception(page)

    assert CANARY not in rendered(page)
    assert CANARY not in session_text(page)
    assert CANARY not in caplog.text
    captured = capsys.readouterr()
    assert CANARY not in captured.err and CANARY not in captured.out
    with studio_runtime.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_key")).all()
    assert rows and CANARY not in repr(rows)
    if studio_runtime.settings.database_url.startswith("sqlite"):
        studio_runtime.engine.dispose()
        files = list(studio_runtime.settings.home.glob("studio.db*"))
        assert files and all(CANARY.encode() not in path.read_bytes() for path in files)


def test_saving_a_blank_field_keeps_the_old_key(page, studio_runtime):
    save(page, "anthropic", CANARY)
    save(page, "anthropic", "")
    assert keys.resolve_key(studio_runtime, "anthropic") == CANARY
    assert "left as it was" in texts(page)


def test_an_invalid_key_is_refused_without_echoing_it(page, studio_runtime):
    save(page, "sarvam", "not a key at-all-9876")
    assert keys.resolve_key(studio_runtime, "sarvam") is None
    errors = [e.value for e in page.error]
    assert errors and "does not look like a Sarvam API key" in errors[0].replace("\\", "")
    assert "at-all-9876" not in rendered(page)  # (4 digits alone can occur in element ids)


def test_delete_asks_first(page, studio_runtime):
    save(page, "elevenlabs", CANARY)
    page.button(key="settings.delete.elevenlabs").click().run()
    no_exception(page)
    assert "Delete the saved" in texts(page)
    button(page, "Cancel").click().run()
    assert keys.resolve_key(studio_runtime, "elevenlabs") == CANARY
    page.button(key="settings.delete.elevenlabs").click().run()
    button(page, "Delete key").click().run()
    no_exception(page)
    assert keys.resolve_key(studio_runtime, "elevenlabs") is None
    assert "Deleted the saved ElevenLabs key." in texts(page)
    assert not [b for b in page.button if b.key == "settings.delete.elevenlabs"]


def test_environment_key_is_shown_masked_with_its_origin(app, no_outside_keys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    no_exception(at)
    assert f"Key from the environment: ••••{CANARY[-4:]}" in texts(at).replace("`", "")
    assert CANARY not in rendered(at)


def test_connection_verdicts(page, studio_runtime, fake_server):
    set_base_url(studio_runtime, "openai", f"{fake_server.url}/v1")
    page.button(key="settings.test.openai").click().run()
    assert [e.value for e in page.error][0].startswith("No OpenAI API key is set")
    fake_server.route("GET", "/v1/models", fake_openai.error(401, "Incorrect API key"))
    save(page, "openai", CANARY)
    page.button(key="settings.test.openai").click().run()
    assert "OpenAI rejected the API key; update it on the Settings page." in texts(page)
    fake_server.route("GET", "/v1/models", fake_openai.models("gpt-4o-mini"))
    page.button(key="settings.test.openai").click().run()
    assert "Connected: OpenAI accepted the key and lists 1 chat models." in texts(page)
    assert CANARY not in rendered(page)


def test_compatible_server_base_url_is_saved_with_its_form(page, studio_runtime):
    page.text_input(key="settings.url.openai_compatible").input("http://127.0.0.1:8080/v1")
    save(page, "openai_compatible", "")
    assert base_url(studio_runtime, "openai_compatible") == "http://127.0.0.1:8080/v1"


def test_defaults_per_capability(page, studio_runtime):
    page.selectbox(key="settings.default.llm.provider").select("anthropic").run()
    no_exception(page)
    page.selectbox(key="settings.default.llm.model.anthropic").select("claude-sonnet-4-5").run()
    page.selectbox(key="settings.default.embedding").select("openai").run()
    button(page, "Save defaults").click().run()
    no_exception(page)
    saved = defaults(studio_runtime)
    assert saved["llm"] == {"provider": "anthropic", "model": "claude-sonnet-4-5"}
    assert saved["embedding"] == {"provider": "openai", "model": "text-embedding-3-small"}
    assert saved["tts"]["provider"] == "offline"
    assert "200,000 tokens context" in texts(page)
