"""ElevenLabs text to speech through the official SDK: the voice library and streamed speech."""
from __future__ import annotations

from typing import Iterator

from core.providers import net
from core.providers.remote import Remote
from core.providers.speech import TTS, AudioChunk, Tuning, Voice, pcm_chunks, register_tts, split_sentences

VENDOR = "elevenlabs"
MODEL = "eleven_multilingual_v2"
RATE = 22_050
OUTPUT_FORMAT = f"pcm_{RATE}"
CUSTOM_CATEGORIES = {"cloned", "generated", "professional"}
PAGE_SIZE = 100
DEFAULT_URL = "https://api.elevenlabs.io"


def elevenlabs_client(adapter: Remote):
    """An SDK client with the adapter's key, base URL (Settings or ELEVENLABS_BASE_URL) and timeouts."""
    from elevenlabs.client import ElevenLabs

    url = adapter.base_url() or DEFAULT_URL
    return ElevenLabs(api_key=adapter.api_key(), base_url=url, timeout=adapter.policy.read)


def _voice(item) -> Voice:
    labels = {key.lower(): str(value).lower() for key, value in (item.labels or {}).items()}
    verified = item.verified_languages or []
    languages = sorted({entry.language.split("-")[0].lower() for entry in verified if entry.language})
    accent = labels.get("accent") or next((entry.accent.lower() for entry in verified if entry.accent), "")
    category = str(item.category or "")
    return Voice(
        provider=VENDOR,
        voice_id=item.voice_id,
        name=item.name or item.voice_id,
        gender=labels.get("gender", ""),
        languages=tuple(languages or ([labels["language"]] if "language" in labels else [])),
        accent=accent,
        description=labels.get("description") or (item.description or ""),
        category=category,
        custom=category in CUSTOM_CATEGORIES,
        preview_url=item.preview_url or "",
    )


@register_tts
class ElevenLabsTTS(Remote, TTS):
    name = VENDOR
    label = "ElevenLabs"
    needs_key = VENDOR
    default_voice = "21m00Tcm4TlvDq8ikWAM"  # Rachel, a premade voice every account has
    tunings = (
        Tuning("stability", "Stability", 0.0, 1.0, 0.5, 0.05, "Lower is more expressive, higher is more even."),
        Tuning("similarity_boost", "Similarity", 0.0, 1.0, 0.75, 0.05, "How closely to match the original voice."),
        Tuning("style", "Style exaggeration", 0.0, 1.0, 0.0, 0.05, "Amplifies the speaker's style; adds latency."),
        Tuning("speed", "Speed", 0.7, 1.2, 1.0, 0.05, "Below 1 is slower, above 1 is faster."),
    )

    def list_voices(self) -> list[Voice]:
        client = elevenlabs_client(self)
        voices, token = [], None
        while True:
            page = net.call(
                lambda: client.voices.search(
                    page_size=PAGE_SIZE, next_page_token=token, request_options=net.fern_options(self.policy)
                ),
                vendor=VENDOR,
                policy=self.policy,
            )
            voices.extend(_voice(item) for item in page.voices)
            token = page.next_page_token
            if not page.has_more or not token:
                return voices

    def stream(self, text: str, voice: str = "", settings: dict | None = None, language: str = "") -> Iterator[AudioChunk]:
        from elevenlabs import VoiceSettings

        values = self.settings(settings)
        voice_settings = VoiceSettings(use_speaker_boost=True, **values)
        client = elevenlabs_client(self)
        sentences = split_sentences(text)
        for index, sentence in enumerate(sentences):
            context = {
                "previous_text": " ".join(sentences[max(0, index - 2) : index]) or None,
                "next_text": sentences[index + 1] if index + 1 < len(sentences) else None,
            }
            pieces = net.stream(
                lambda: client.text_to_speech.stream(
                    voice or self.default_voice,
                    text=sentence,
                    model_id=MODEL,
                    output_format=OUTPUT_FORMAT,
                    voice_settings=voice_settings,
                    request_options=net.fern_options(self.policy),
                    **{key: value for key, value in context.items() if value},
                ),
                vendor=VENDOR,
                policy=self.policy,
            )
            yield from pcm_chunks(pieces, RATE, sentence)

