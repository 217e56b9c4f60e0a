"""Sarvam text to speech (Bulbul) through the official SDK: Indian languages and English."""
from __future__ import annotations

import base64
import binascii
from typing import Iterator

from core.errors import InvalidInput, ProviderError
from core.providers import net
from core.providers.remote import Remote
from core.providers.sarvam_llm import sarvam_environment
from core.providers.speech import TTS, AudioChunk, Tuning, Voice, read_wav, register_tts, split_sentences

VENDOR = "sarvam"
MODEL = "bulbul:v2"  # the model with pitch and loudness controls
RATE = 22_050
LANGUAGES = {
    "en": "en-IN", "hi": "hi-IN", "bn": "bn-IN", "gu": "gu-IN", "kn": "kn-IN", "ml": "ml-IN",
    "mr": "mr-IN", "or": "od-IN", "od": "od-IN", "pa": "pa-IN", "ta": "ta-IN", "te": "te-IN",
}
SPOKEN = ("en", "hi", "bn", "gu", "kn", "ml", "mr", "or", "pa", "ta", "te")
SPEAKERS = {  # bulbul:v2 speakers
    "anushka": "female", "manisha": "female", "vidya": "female", "arya": "female",
    "abhilash": "male", "karun": "male", "hitesh": "male",
}


def sarvam_client(adapter: Remote):
    """An SDK client with the adapter's key, base URL (Settings or SARVAM_BASE_URL) and timeouts."""
    from sarvamai import SarvamAI

    return SarvamAI(
        api_subscription_key=adapter.api_key(),
        environment=sarvam_environment(adapter.base_url()),
        timeout=adapter.policy.read,
    )


def language_code(language: str) -> str:
    """A BCP-47 code Sarvam accepts ('hi' -> 'hi-IN'); a plain sentence when it speaks no such language."""
    language = (language or "en").strip()
    if language in LANGUAGES.values():
        return language
    code = LANGUAGES.get(language.split("-")[0].lower())
    if code is None:
        raise InvalidInput(f"Sarvam does not speak '{language}'; choose English or an Indian language for this clone.")
    return code


@register_tts
class SarvamTTS(Remote, TTS):
    name = VENDOR
    label = "Sarvam (Bulbul)"
    needs_key = VENDOR
    streaming = False  # one WAV per sentence
    default_voice = "anushka"
    languages = tuple(sorted(set(LANGUAGES.values())))
    tunings = (
        Tuning("pitch", "Pitch", -0.75, 0.75, 0.0, 0.05, "Lower is deeper, higher is sharper."),
        Tuning("pace", "Pace", 0.3, 3.0, 1.0, 0.05, "Below 1 is slower, above 1 is faster."),
        Tuning("loudness", "Loudness", 0.3, 3.0, 1.0, 0.05, "Below 1 is quieter, above 1 is louder."),
    )

    def list_voices(self) -> list[Voice]:
        """Sarvam has no voice-listing endpoint: its speakers are fixed per model."""
        return [
            Voice(VENDOR, speaker, speaker.title(), gender, SPOKEN, "indian",
                  "Speaks English and ten Indian languages.", "premade")
            for speaker, gender in SPEAKERS.items()
        ]

    def stream(self, text: str, voice: str = "", settings: dict | None = None, language: str = "") -> Iterator[AudioChunk]:
        values = self.settings(settings)
        target = language_code(values.pop("language", "") or language)
        client = sarvam_client(self)
        for sentence in split_sentences(text):
            response = net.call(
                lambda: client.text_to_speech.convert(
                    text=sentence,
                    language_code=target,
                    speaker=voice or self.default_voice,
                    model=MODEL,
                    speech_sample_rate=RATE,
                    request_options=net.fern_options(self.policy),
                    **values,
                ),
                vendor=VENDOR,
                policy=self.policy,
            )
            for encoded in response.audios:
                pcm, rate = read_wav(_decode(encoded))
                yield AudioChunk(pcm, rate, text=sentence)


def _decode(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError("Sarvam sent audio that could not be read; try again in a moment.") from None
