"""Whisper on a call turn with the encoder window cut to the turn (core.call.stt): the window
chosen, the same words as faster-whisper's full 30 s window, silence and noise as nothing,
and the full decode taking over when the short one is doubtful or the turn too long."""
from __future__ import annotations

import numpy as np
import pytest

from core.call import stt
from core.providers.stt_offline import whisper_model
from tests.call_peer import silence, speech

RATE = 16_000


def as_float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0


@pytest.fixture(scope="module")
def question():
    said = speech("How do I create a new clone?", RATE)
    return as_float(np.concatenate([silence(0.4, RATE), said, silence(0.3, RATE)]))


def test_the_window_holds_the_turn_with_a_ten_second_floor_and_five_second_steps():
    assert stt.context_frames(250) == 1000
    assert stt.context_frames(900) == 1000
    assert stt.context_frames(901) == 1500
    assert stt.context_frames(2400) == 2500
    assert stt.context_frames(2950) == 0  # too long for a cut window: the full decode


def test_a_spoken_question_gives_the_same_words_as_the_full_window(question):
    model = whisper_model()
    short = stt.decode_short(model, question)
    assert short is not None and not short.silent and not short.doubtful
    assert short.text.lower().strip(" ?.") == "how do i create a new clone"
    assert short.text == stt.decode_full(model, question)
    assert stt.transcribe_turn(model, question) == short.text


def test_silence_and_noise_are_heard_as_nothing():
    model = whisper_model()
    noise = np.random.default_rng(0).normal(0, 0.02, RATE).astype(np.float32)
    assert stt.transcribe_turn(model, np.zeros(RATE, dtype=np.float32)) == ""
    assert stt.transcribe_turn(model, noise) == ""
    assert stt.transcribe_turn(model, np.zeros(0, dtype=np.float32)) == ""


def test_a_doubtful_short_decode_is_done_again_over_the_full_window(question, monkeypatch):
    model = whisper_model()
    monkeypatch.setattr(stt, "decode_short", lambda m, a: stt.Decoded("Okay. Okay. Okay.", 0.1, -0.3, 3.1, True))
    assert stt.transcribe_turn(model, question).lower().strip(" ?.") == "how do i create a new clone"


LONG = ("The bakery opens at seven on weekdays.", "On Saturdays it opens at eight.", "The trail climbs to Heron Rock.",
        "Dogs are welcome on a lead.", "Parking is free behind the station.", "Rye bread is baked every morning.",
        "The shop closes early on holidays.", "Cardamom buns come out at ten.", "Bring water for the long walk.",
        "Unsold bread goes to the community kitchen.", "The ridge has a view over the lake.",
        "Orders for cakes need two days.", "The last loaf is sold at six in the evening.")


def test_a_turn_longer_than_the_window_is_decoded_whole():
    long = as_float(np.concatenate([np.concatenate([speech(line, RATE), silence(0.4, RATE)]) for line in LONG]))
    assert len(long) / RATE > 30
    assert stt.decode_short(whisper_model(), long) is None
    words = stt.transcribe_turn(whisper_model(), long).lower()
    assert "seven" in words and "evening" in words  # the first sentence and the last, past the first 30 s
