"""The voice gallery and a clone's voice: which voices exist, speaking with them, what it cost today.

Voices come live from every configured provider (the offline voice always; a vendor once its
key is set), are cached for an hour per provider and key, and fall back to the bundled list
in voices_fallback.json when a provider cannot be reached.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import func
from sqlmodel import select

from core.errors import InvalidInput, MissingKey, ProviderError
from core.keys import resolve_key
from core.owners import resolve
from core.spend import check_cap
from core.models import Clone, Conversation, Message, UsageEvent
from core.providers.speech import TTS, Audio, AudioChunk, Transcript, Voice, get_stt, get_tts, join_audio, speakable, stt_classes, tts_classes

log = logging.getLogger(__name__)

CACHE_SECONDS = 3600
RETRY_SECONDS = 300  # after a failed fetch, how long the fallback is shown before trying again
FALLBACK_FILE = Path(__file__).with_name("voices_fallback.json")
STANDARD_LINE = "Hello, I'm {name}. This is how I will sound when I answer your questions."
PREVIEW_CHARS = 320
LANGUAGE_NAMES = {
    "en": "English", "hi": "Hindi", "bn": "Bengali", "gu": "Gujarati", "kn": "Kannada", "ml": "Malayalam",
    "mr": "Marathi", "or": "Odia", "pa": "Punjabi", "ta": "Tamil", "te": "Telugu", "es": "Spanish",
    "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese", "ja": "Japanese", "zh": "Chinese",
}

@dataclass(frozen=True)
class _Entry:
    at: float
    voices: tuple[Voice, ...]
    source: str  # live / cached (an earlier live list, after a failure) / bundled
    note: str = ""

    def fresh(self, now: float) -> bool:
        return now - self.at < (CACHE_SECONDS if self.source == "live" else RETRY_SECONDS)


_cache: dict[str, _Entry] = {}
_cache_lock = threading.Lock()
_clock = time.monotonic


@dataclass
class Gallery:
    voices: list[Voice]
    sources: dict[str, str] = field(default_factory=dict)  # provider -> live / cached / bundled
    notes: dict[str, str] = field(default_factory=dict)  # provider -> why the bundled list is shown


@dataclass(frozen=True)
class Spoken:
    audio: Audio
    provider: str
    voice: str
    characters: int


# --- which voices exist --------------------------------------------------------------------


@lru_cache(maxsize=1)
def _fallback() -> dict[str, tuple[Voice, ...]]:
    data = json.loads(FALLBACK_FILE.read_text(encoding="utf-8"))
    return {name: tuple(Voice.from_dict(item) for item in items) for name, items in data.items() if isinstance(items, list)}


def fallback_voices(provider: str) -> list[Voice]:
    return list(_fallback().get(provider, ()))


def _configured(runtime, classes: dict) -> list[str]:
    names = []
    for name, cls in classes.items():
        try:
            usable = cls.offline or not cls.needs_key or bool(resolve_key(runtime, cls.needs_key))
        except MissingKey as problem:  # a stored key that can no longer be decrypted
            log.info("%s unavailable: %s", name, problem)
            usable = False
        if usable:
            names.append(name)
    return names


def configured_tts(runtime) -> list[str]:
    """The offline voice plus every vendor whose API key is set."""
    return _configured(runtime, tts_classes())


def configured_stt(runtime) -> list[str]:
    """Offline speech recognition plus every vendor whose API key is set."""
    return _configured(runtime, stt_classes())


def tts_label(name: str) -> str:
    return tts_classes()[name].label if name in tts_classes() else name


def stt_label(name: str) -> str:
    return stt_classes()[name].label if name in stt_classes() else name


def _cache_key(tts: TTS) -> str:
    """Per provider, key and base URL, so a new key or server never shows another's voices."""
    if tts.offline:
        return tts.name
    parts = [tts.name, str(tts.base_url() or ""), tts.api_key()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def provider_voices(runtime, name: str, refresh: bool = False) -> tuple[list[Voice], str, str]:
    """(voices, source, note) for one provider: live, from the cache, or the bundled list.

    A live list is kept for an hour. When fetching fails, the last live list (else the bundled
    one) is shown with the reason, and the provider is asked again after a few minutes."""
    tts = get_tts(name, runtime)
    try:
        key = _cache_key(tts)
    except ProviderError as problem:
        return fallback_voices(name), "bundled", str(problem)
    with _cache_lock:
        entry = _cache.get(key)
    if entry and not refresh and entry.fresh(_clock()):
        return list(entry.voices), "cached" if entry.source == "live" else entry.source, entry.note
    try:
        fresh = _Entry(_clock(), tuple(tts.list_voices()), "live")
    except ProviderError as problem:
        log.info("listing %s voices failed: %s", name, problem)
        if entry and entry.source in ("live", "cached"):
            fresh = _Entry(_clock(), entry.voices, "cached", str(problem))
        else:
            fresh = _Entry(_clock(), tuple(fallback_voices(name)), "bundled", str(problem))
    with _cache_lock:
        _cache[key] = fresh
    return list(fresh.voices), fresh.source, fresh.note


def gallery(runtime, refresh: bool = False) -> Gallery:
    """Voices of every configured provider, offline first."""
    result = Gallery([])
    for name in configured_tts(runtime):
        voices, source, note = provider_voices(runtime, name, refresh)
        result.voices.extend(voices)
        result.sources[name] = source
        if note:
            result.notes[name] = note
    return result


def filter_voices(voices, query: str = "", provider: str = "", gender: str = "", language: str = "", accent: str = "") -> list[Voice]:
    """Voices whose name (or description) contains `query`, matching every chosen facet."""
    query = query.strip().lower()
    return [
        voice
        for voice in voices
        if (not query or query in voice.name.lower() or query in voice.description.lower())
        and (not provider or voice.provider == provider)
        and (not gender or voice.gender == gender)
        and (not language or language in voice.languages)
        and (not accent or voice.accent == accent)
    ]


def facets(voices) -> dict[str, list[str]]:
    """The values each filter can take, from the voices at hand."""
    return {
        "provider": sorted({v.provider for v in voices}),
        "gender": sorted({v.gender for v in voices if v.gender}),
        "language": sorted({code for v in voices for code in v.languages}),
        "accent": sorted({v.accent for v in voices if v.accent}),
    }


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


# --- a clone's voice --------------------------------------------------------------------------


def assign_voice(runtime, clone_id: str, provider: str, voice_id: str, settings: dict | None = None,
                 stt_provider: str | None = None) -> Clone:
    """Give a clone a voice with its settings (on the provider's scales), and optionally its STT."""
    from core.clones import update_clone

    tts = get_tts(provider, runtime)
    if not voice_id.strip():
        raise InvalidInput("Choose a voice before assigning it to the clone.")
    fields = {"tts_provider": provider, "tts_voice": voice_id.strip(), "voice_settings": tts.settings(settings)}
    if stt_provider:
        fields["stt_provider"] = get_stt(stt_provider, runtime).name
    return update_clone(runtime, clone_id, **fields)


@dataclass(frozen=True)
class VoiceChoice:
    tts: TTS
    voice: str
    settings: dict
    language: str = ""


def choose_voice(runtime, clone: Clone | None = None, provider: str | None = None, voice: str | None = None,
                 settings: dict | None = None) -> VoiceChoice:
    """The clone's voice, with any of provider / voice / settings overridden (the playground's sliders)."""
    if clone is not None and (provider is None or provider == clone.tts_provider):
        tts = get_tts(clone.tts_provider or "offline", runtime)
        voice = voice or clone.tts_voice
        settings = clone.voice_settings if settings is None else settings
    else:
        tts = get_tts(provider or "offline", runtime)
    language = clone.language if clone is not None else ""
    return VoiceChoice(tts, voice or tts.default_voice, tts.settings(settings), language)


RECENT_ANSWERS = 25  # how far back the preview looks for a successful answer


def last_answer(runtime, clone_id: str, owner_id: str | None = None) -> str | None:
    """The clone's most recent successful answer, as it would be read aloud: complete, without an
    error, and grounded (it cited at least one of its documents), so a "couldn't find anything"
    reply or a failed turn is never what the voice preview says."""
    query = (
        select(Message.content, Message.citations, Message.error)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.clone_id == clone_id, Message.owner_id == resolve(runtime, owner_id), Message.role == "assistant",
               Message.status == "complete")
        .order_by(Message.created_at.desc())
        .limit(RECENT_ANSWERS)
    )
    with runtime.session() as session:
        rows = session.exec(query).all()
    for content, cited, error in rows:
        text = " ".join(speakable(content or "").split())
        if text and not error and any(c.get("cited") for c in cited or []):
            return text
    return None


def preview_text(runtime, clone: Clone, own_words: bool = True) -> str:
    """The clone's own last answer (shortened at a sentence end), else a standard line."""
    text = last_answer(runtime, clone.id) if own_words else None
    if not text:
        return STANDARD_LINE.format(name=clone.name)
    if len(text) <= PREVIEW_CHARS:
        return text
    cut = max(text.rfind(mark, 0, PREVIEW_CHARS) for mark in (". ", "! ", "? "))
    return text[: cut + 1] if cut > 0 else text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"


# --- speaking, and what it cost -----------------------------------------------------------


def _stream(runtime, choice: VoiceChoice, text: str, clone_id: str | None) -> Iterator[AudioChunk]:
    if not speakable(text).strip():
        raise InvalidInput("There is nothing to say; type some text first.")
    if choice.tts.name != "offline":
        check_cap(runtime)
    sentences: dict[str, None] = {}
    try:
        for chunk in choice.tts.stream(text, choice.voice, choice.settings, choice.language):
            sentences.setdefault(chunk.text)
            yield chunk
    finally:
        record_tts_chars(runtime, choice.tts.name, sum(map(len, sentences)), clone_id)


def speak(runtime, text: str, *, clone: Clone | None = None, provider: str | None = None,
          voice: str | None = None, settings: dict | None = None) -> Spoken:
    """The whole utterance at once (preview, playground, `python -m core speak`)."""
    choice = choose_voice(runtime, clone, provider, voice, settings)
    chunks = list(_stream(runtime, choice, text, clone.id if clone else None))
    characters = sum(len(sentence) for sentence in dict.fromkeys(chunk.text for chunk in chunks))
    return Spoken(join_audio(chunks), choice.tts.name, choice.voice, characters)


def transcribe(runtime, clone: Clone, audio, sample_rate: int) -> Transcript:
    """Speech to text with the clone's STT provider and language."""
    return get_stt(clone.stt_provider or "offline", runtime).transcribe(audio, sample_rate, clone.language or None)


def record_tts_chars(runtime, provider: str, characters: int, clone_id: str | None = None, owner_id: str | None = None) -> None:
    if characters <= 0:
        return
    with runtime.session() as session:
        session.add(UsageEvent(owner_id=resolve(runtime, owner_id), clone_id=clone_id, provider=provider, kind="tts_chars", amount=characters))
        session.commit()


def start_of_today(now: datetime | None = None) -> datetime:
    """Local midnight, in UTC."""
    local = (now or datetime.now(timezone.utc)).astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def chars_today(runtime, owner_id: str | None = None, now: datetime | None = None) -> dict[str, int]:
    """Characters spoken today per provider."""
    query = (
        select(UsageEvent.provider, func.sum(UsageEvent.amount))
        .where(UsageEvent.owner_id == resolve(runtime, owner_id), UsageEvent.kind == "tts_chars", UsageEvent.created_at >= start_of_today(now))
        .group_by(UsageEvent.provider)
    )
    with runtime.session() as session:
        return {provider: int(total or 0) for provider, total in session.exec(query).all()}
