"""Sarvam speech to text (Saaras) through the official SDK: Indian languages and English."""
from __future__ import annotations

import numpy as np

from core.providers import net
from core.providers.remote import Remote
from core.providers.speech import STT, Transcript, register_stt, to_int16, wav_bytes
from core.providers.tts_sarvam import VENDOR, language_code, sarvam_client

MODEL = "saaras:v3"


@register_stt
class SarvamSTT(Remote, STT):
    name = VENDOR
    label = "Sarvam (Saaras)"
    needs_key = VENDOR

    def transcribe(self, audio: bytes | np.ndarray, sample_rate: int, language: str | None = None) -> Transcript:
        samples = to_int16(audio)
        code = language_code(language) if language else "unknown"
        client = sarvam_client(self)
        result = net.call(
            lambda: client.speech_to_text.transcribe(
                file=("speech.wav", wav_bytes(samples, sample_rate), "audio/wav"),
                model=MODEL,
                mode="transcribe",
                language_code=code,
                request_options=net.fern_options(self.policy),
            ),
            vendor=VENDOR,
            policy=self.policy,
        )
        return Transcript(result.transcript.strip(), result.language_code or code, samples.size / sample_rate)
