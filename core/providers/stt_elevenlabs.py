"""ElevenLabs speech to text (Scribe) through the official SDK."""
from __future__ import annotations

import numpy as np

from core.providers import net
from core.providers.remote import Remote
from core.providers.speech import STT, Transcript, register_stt, to_int16, wav_bytes
from core.providers.tts_elevenlabs import VENDOR, elevenlabs_client

MODEL = "scribe_v1"


@register_stt
class ElevenLabsSTT(Remote, STT):
    name = VENDOR
    label = "ElevenLabs (Scribe)"
    needs_key = VENDOR

    def transcribe(self, audio: bytes | np.ndarray, sample_rate: int, language: str | None = None) -> Transcript:
        samples = to_int16(audio)
        client = elevenlabs_client(self)
        options = {"language_code": language} if language else {}
        result = net.call(
            lambda: client.speech_to_text.convert(
                model_id=MODEL,
                file=("speech.wav", wav_bytes(samples, sample_rate), "audio/wav"),
                request_options=net.fern_options(self.policy),
                **options,
            ),
            vendor=VENDOR,
            policy=self.policy,
        )
        seconds = getattr(result, "audio_duration_secs", None) or samples.size / sample_rate
        return Transcript(
            (getattr(result, "text", "") or "").strip(), getattr(result, "language_code", "") or "", float(seconds)
        )
