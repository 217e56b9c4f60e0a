"""Per-owner preferences in the AppSetting table: default provider and model per capability,
and provider options such as the OpenAI-compatible server's base URL."""
from __future__ import annotations

import os

from sqlmodel import select

from core.config import setting
from core.errors import InvalidInput
from core.owners import resolve
from core.models import AppSetting

CAPABILITIES = {"llm": "Chat model", "embedding": "Embeddings", "tts": "Text to speech", "stt": "Speech to text"}
BUILTIN_DEFAULTS = {
    "llm": {"provider": "offline", "model": "extractive"},
    "embedding": {"provider": "minilm", "model": "all-MiniLM-L6-v2"},
    "tts": {"provider": "offline", "model": ""},
    "stt": {"provider": "offline", "model": ""},
}
BASE_URL_ENV = {
    "openai": ("OPENAI_BASE_URL",),
    "openai_compatible": ("OPENAI_COMPATIBLE_BASE_URL", "OPENAI_BASE_URL"),
    "anthropic": ("ANTHROPIC_BASE_URL",),
    "sarvam": ("SARVAM_BASE_URL",),
    "elevenlabs": ("ELEVENLABS_BASE_URL",),
}
DEFAULT_COMPATIBLE_URL = "http://127.0.0.1:11434/v1"  # Ollama's OpenAI-compatible endpoint


def get_preference(runtime, key: str, owner: str | None = None) -> dict:
    owner = resolve(runtime, owner)
    with runtime.session() as session:
        row = session.exec(select(AppSetting).where(AppSetting.owner_id == owner, AppSetting.key == key)).first()
    return dict(row.value) if row else {}


def set_preference(runtime, key: str, value: dict, owner: str | None = None) -> None:
    owner = resolve(runtime, owner)
    with runtime.session() as session:
        row = session.exec(select(AppSetting).where(AppSetting.owner_id == owner, AppSetting.key == key)).first()
        row = row or AppSetting(owner_id=owner, key=key)
        row.value = dict(value)
        session.add(row)
        session.commit()


def defaults(runtime, owner: str | None = None) -> dict[str, dict]:
    """The default {provider, model} per capability; new clones start from these."""
    saved = get_preference(runtime, "defaults", owner) if runtime is not None else {}
    return {cap: {**BUILTIN_DEFAULTS[cap], **saved.get(cap, {})} for cap in CAPABILITIES}


def set_default(runtime, capability: str, provider: str, model: str = "", owner: str | None = None) -> None:
    if capability not in CAPABILITIES:
        raise InvalidInput(f"There is no capability called '{capability}'; choose one of {', '.join(CAPABILITIES)}.")
    saved = get_preference(runtime, "defaults", owner)
    saved[capability] = {"provider": provider, "model": model or ""}
    set_preference(runtime, "defaults", saved, owner)


def base_url(runtime, provider: str, owner: str | None = None) -> str | None:
    """A provider's base URL: the Settings page, else its environment variable, else the SDK's default.

    The OpenAI-compatible provider always has one (Ollama's local address by default)."""
    if runtime is not None:
        saved = get_preference(runtime, f"base_url.{provider}", owner).get("url")
        if saved:
            return saved
    for name in BASE_URL_ENV.get(provider, ()):
        value = os.environ.get(name) or setting(name)
        if value:
            return value
    return DEFAULT_COMPATIBLE_URL if provider == "openai_compatible" else None


def set_base_url(runtime, provider: str, url: str, owner: str | None = None) -> None:
    url = (url or "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise InvalidInput("The base URL must start with http:// or https://, for example http://127.0.0.1:11434/v1.")
    set_preference(runtime, f"base_url.{provider}", {"url": url.rstrip("/")} if url else {}, owner)
