"""The connection test behind the Settings page's button: a plain verdict either way."""
from __future__ import annotations

from core import keys
from core.preferences import set_base_url
from core.providers.overview import overview, test_connection as check
from tests.fakes import anthropic as fake_anthropic
from tests.fakes import openai as fake_openai
from tests.fakes import sarvam as fake_sarvam
from tests.fakes.fixtures import db_runtime, fake_server, no_outside_keys  # noqa: F401


def test_offline_needs_no_connection(db_runtime):
    verdict = check(db_runtime, "offline")
    assert verdict.ok and "runs on this machine" in verdict.message


def test_missing_key_verdict(db_runtime):
    verdict = check(db_runtime, "openai")
    assert not verdict.ok
    assert verdict.message == "No OpenAI API key is set; add one on the Settings page or set OPENAI_API_KEY."


def test_openai_key_accepted(db_runtime, fake_server):
    fake_server.route("GET", "/v1/models", fake_openai.models("gpt-4o-mini", "gpt-4o", "whisper-1"))
    keys.save_key(db_runtime, "openai", "sk-good-12345678")
    set_base_url(db_runtime, "openai", f"{fake_server.url}/v1")
    verdict = check(db_runtime, "openai")
    assert verdict.ok and verdict.message == "Connected: OpenAI accepted the key and lists 2 chat models."


def test_anthropic_key_rejected(db_runtime, fake_server):
    fake_server.route("GET", "/v1/models", fake_anthropic.error(401, "invalid x-api-key", kind="authentication_error"))
    keys.save_key(db_runtime, "anthropic", "sk-ant-bad-12345678")
    set_base_url(db_runtime, "anthropic", fake_server.url)
    verdict = check(db_runtime, "anthropic")
    assert not verdict.ok and verdict.message == "Anthropic rejected the API key; update it on the Settings page."


def test_sarvam_is_tested_with_a_one_token_answer(db_runtime, fake_server):
    fake_server.route("POST", "/v1/chat/completions", fake_sarvam.completion_stream(["ok"], finish="length", usage=(9, 1)))
    keys.save_key(db_runtime, "sarvam", "sarvam-key-12345678")
    set_base_url(db_runtime, "sarvam", fake_server.url)
    verdict = check(db_runtime, "sarvam")
    assert verdict.ok and verdict.message == "Connected: Sarvam answered with sarvam-105b and reported its token usage."
    assert fake_server.requests[0].json()["max_tokens"] == 1


def test_overview_marks_keys_without_showing_them(db_runtime):
    keys.save_key(db_runtime, "elevenlabs", "xi-secret-ABCD1234")
    items = {item.name: item for item in overview(db_runtime, live=False)}
    assert items["elevenlabs"].key_source == "settings" and items["elevenlabs"].masked == "••••1234"
    assert "xi-secret" not in str(items["elevenlabs"].as_json())
    assert items["openai"].ready is False and items["offline"].ready and items["openai_compatible"].ready
