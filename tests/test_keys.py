"""API keys: encrypted at rest, resolution order, masking, the encryption key's origin."""
from __future__ import annotations

import os
import stat

import pytest

from core import config, keys
from core.errors import InvalidInput, MissingKey

CANARY = "sk-CANARY-7f3a9c1e5b2d8f40"


@pytest.fixture
def runtime(settings):
    """Only the database is needed here: no ingestion recovery, no demo clone."""
    from core.runtime import Runtime

    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture(autouse=True)
def no_outside_keys(monkeypatch, tmp_path):
    for entry in keys.PROVIDERS.values():
        for name in entry.env:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(keys.SECRET_ENV, raising=False)
    monkeypatch.setenv("CLONE_STUDIO_SECRETS", str(tmp_path / "absent-secrets.toml"))
    config._secrets.cache_clear()
    yield
    config._secrets.cache_clear()


def _database_bytes(runtime) -> bytes:
    home = runtime.settings.home
    return b"".join(path.read_bytes() for path in home.glob("studio.db*"))


def test_saved_key_is_encrypted_and_resolves(runtime):
    assert keys.save_key(runtime, "openai", CANARY) is True
    assert keys.resolve_key(runtime, "openai") == CANARY
    assert keys.masked(runtime, "openai") == "••••8f40"
    assert keys.key_source(runtime, "openai") == "settings"
    if runtime.settings.database_url.startswith("sqlite"):
        assert CANARY.encode() not in _database_bytes(runtime)


def test_generated_encryption_key_file_is_private_and_outside_the_database(runtime):
    keys.save_key(runtime, "anthropic", CANARY)
    path = keys.key_file(runtime)
    assert path.exists() and path.parent == runtime.settings.home
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "generated" in keys.encryption_key_source(runtime)


def test_blank_save_keeps_the_old_key(runtime):
    keys.save_key(runtime, "sarvam", CANARY)
    assert keys.save_key(runtime, "sarvam", "   ") is False
    assert keys.resolve_key(runtime, "sarvam") == CANARY


def test_key_with_spaces_is_refused_without_echoing_it(runtime):
    with pytest.raises(InvalidInput) as caught:
        keys.save_key(runtime, "openai", "sk-abc def-ghijkl")
    assert "ghijkl" not in str(caught.value)


def test_resolution_order_store_then_environment_then_secrets(runtime, monkeypatch, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('SARVAM_AI_API_KEY = "from-secrets-1111"\n')
    monkeypatch.setenv("CLONE_STUDIO_SECRETS", str(secrets))
    config._secrets.cache_clear()
    assert (keys.resolve_key(runtime, "sarvam"), keys.key_source(runtime, "sarvam")) == ("from-secrets-1111", "secrets")
    monkeypatch.setenv("SARVAM_API_KEY", "from-env-2222")
    assert (keys.resolve_key(runtime, "sarvam"), keys.key_source(runtime, "sarvam")) == ("from-env-2222", "environment")
    keys.save_key(runtime, "sarvam", "from-store-3333")
    assert (keys.resolve_key(runtime, "sarvam"), keys.key_source(runtime, "sarvam")) == ("from-store-3333", "settings")
    keys.delete_key(runtime, "sarvam")
    assert keys.resolve_key(runtime, "sarvam") == "from-env-2222"


def test_require_key_says_how_to_fix(runtime):
    with pytest.raises(MissingKey) as caught:
        keys.require_key(runtime, "elevenlabs")
    assert str(caught.value) == "No ElevenLabs API key is set; add one on the Settings page or set ELEVENLABS_API_KEY."
    assert keys.masked(runtime, "elevenlabs") is None


def test_encryption_key_from_environment_and_a_changed_key(runtime, monkeypatch):
    monkeypatch.setenv(keys.SECRET_ENV, "a long passphrase, not a Fernet key")
    keys.save_key(runtime, "openai", CANARY)
    assert not keys.key_file(runtime).exists()
    assert keys.encryption_key_source(runtime) == "the CLONE_STUDIO_SECRET_KEY environment variable"
    assert keys.resolve_key(runtime, "openai") == CANARY
    monkeypatch.setenv(keys.SECRET_ENV, "a different passphrase entirely")
    with pytest.raises(MissingKey, match="encryption key changed"):
        keys.resolve_key(runtime, "openai")
    status = keys.key_status(runtime, "openai")
    assert status.source is None and "encryption key changed" in status.problem


def test_unknown_provider_is_invalid(runtime):
    with pytest.raises(InvalidInput):
        keys.save_key(runtime, "nosuch", CANARY)


def test_keys_never_reach_the_log(runtime, caplog):
    caplog.set_level("DEBUG")
    keys.save_key(runtime, "openai", CANARY)
    keys.resolve_key(runtime, "openai")
    keys.delete_key(runtime, "openai")
    assert CANARY not in caplog.text and os.environ.get("OPENAI_API_KEY") is None
