"""OpenAI speech to text (transcriptions) through the official SDK."""
from __future__ import annotations

import numpy as np

from core.providers import net
from core.providers.remote import Remote
from core.providers.speech import STT, Transcript, register_stt, to_int16, wav_bytes
from core.providers.tts_openai import VENDOR, openai_client

MODEL = "gpt-4o-mini-transcribe"


@register_stt
class OpenAISTT(Remote, STT):
    name = VENDOR
    label = "OpenAI"
    needs_key = VENDOR

    def transcribe(self, audio: bytes | np.ndarray, sample_rate: int, language: str | None = None) -> Transcript:
        samples = to_int16(audio)
        client = openai_client(self)
        options = {"language": language.split("-")[0]} if language else {}
        result = net.call(
            lambda: client.audio.transcriptions.create(
                model=MODEL, file=("speech.wav", wav_bytes(samples, sample_rate), "audio/wav"), **options
            ),
            vendor=VENDOR,
            policy=self.policy,
        )
        return Transcript(result.text.strip(), language or "", samples.size / sample_rate)
