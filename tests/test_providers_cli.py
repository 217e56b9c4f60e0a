"""`python -m core providers list`: providers, whether a key is configured (never the key), models."""
from __future__ import annotations

import json

from core.cli import main
from tests.fakes import openai as fake_openai
from tests.fakes.fixtures import fake_server, no_outside_keys  # noqa: F401

KEY = "sk-cli-CANARY-55667788"


def test_list_json_shows_key_status_never_the_key(settings, no_outside_keys, monkeypatch, capsys):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert main(["providers", "list", "--json", "--no-live"]) == 0
    out = capsys.readouterr().out
    assert KEY not in out and KEY[-4:] not in out
    providers = {item["name"]: item for item in json.loads(out)}
    assert {"offline", "openai", "openai_compatible", "anthropic", "sarvam", "elevenlabs", "minilm"} <= set(providers)
    assert providers["anthropic"]["key_configured"] and providers["anthropic"]["key_source"] == "environment"
    assert not providers["openai"]["key_configured"] and providers["openai"]["key_required"]
    assert providers["offline"]["offline"] and "chat" in providers["offline"]["capabilities"]
    gpt = next(m for m in providers["openai"]["models"] if m["id"] == "gpt-4o-mini")
    assert gpt["context_window"] == 128000 and gpt["input_price"] == 0.15 and gpt["streaming"] is True
    assert [m["id"] for m in providers["openai"]["embedding_models"]] == ["text-embedding-3-small"]


def test_list_text_merges_the_live_list(settings, no_outside_keys, monkeypatch, capsys, fake_server):
    from core.providers.catalog import clear_live_cache

    clear_live_cache()
    fake_server.route("GET", "/v1/models", fake_openai.models("gpt-4o-mini", "gpt-live-only"))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake_server.url}/v1")
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listening: file only
    assert main(["providers", "list"]) == 0
    out = capsys.readouterr().out
    clear_live_cache()
    assert KEY not in out
    assert "key configured (from the environment)" in out
    assert "gpt-4o-mini: 128,000 tokens context" in out and "(live)" in out
    assert "gpt-live-only" in out and "price unknown" in out
