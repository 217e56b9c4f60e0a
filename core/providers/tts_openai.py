"""OpenAI text to speech through the official SDK, streamed as raw PCM."""
from __future__ import annotations

from typing import Iterator

from core.providers import net
from core.providers.remote import Remote
from core.providers.speech import TTS, AudioChunk, Tuning, Voice, pcm_chunks, register_tts, split_sentences

VENDOR = "openai"
MODEL = "gpt-4o-mini-tts"
RATE = 24_000  # response_format="pcm" is 24 kHz 16-bit mono
VOICES = {
    "alloy": "neutral", "ash": "male", "ballad": "male", "coral": "female", "echo": "male", "fable": "male",
    "nova": "female", "onyx": "male", "sage": "female", "shimmer": "female", "verse": "male",
    "marin": "female", "cedar": "male",
}


def openai_client(adapter: Remote):
    """An SDK client with the adapter's key, base URL (Settings or OPENAI_BASE_URL) and timeouts."""
    from openai import OpenAI

    url = adapter.base_url()
    return OpenAI(api_key=adapter.api_key(), **({"base_url": url} if url else {}), **net.sdk_options(adapter.policy))


@register_tts
class OpenAITTS(Remote, TTS):
    name = VENDOR
    label = "OpenAI"
    needs_key = VENDOR
    default_voice = "alloy"
    tunings = (Tuning("speed", "Speed", 0.25, 4.0, 1.0, 0.05, "Below 1 is slower, above 1 is faster."),)

    def list_voices(self) -> list[Voice]:
        """OpenAI's speech voices are built in; there is no endpoint that lists them."""
        return [
            Voice(VENDOR, voice, voice.title(), gender, ("en",), "american", "Built-in OpenAI speech voice.", "premade")
            for voice, gender in VOICES.items()
        ]

    def stream(self, text: str, voice: str = "", settings: dict | None = None, language: str = "") -> Iterator[AudioChunk]:
        values = self.settings(settings)
        client = openai_client(self)
        for sentence in split_sentences(text):

            def open_stream(sentence=sentence):
                with client.audio.speech.with_streaming_response.create(
                    model=MODEL, voice=voice or self.default_voice, input=sentence, response_format="pcm", **values
                ) as response:
                    yield from response.iter_bytes()

            yield from pcm_chunks(net.stream(open_stream, vendor=VENDOR, policy=self.policy), RATE, sentence)
