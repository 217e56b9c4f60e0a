"""Plain functions of a call's audio: VAD segmentation on recorded speech with known pauses
(Piper and espeak-ng voices), the turn detector's rules, resampling, the pending-audio buffer."""
from __future__ import annotations

import av
import numpy as np
import pytest

from core.call.buffer import ReplyBuffer
from core.call.session import CallSession
from core.call.turn import Resampler
from core.call.vad import END, PAUSE, RESUMED, SPECULATE, START, WINDOW, TurnDetector, TurnRules, model_path, segment
from core.providers.speech import AudioChunk
from tests.call_peer import silence, speech

RATE = 16_000


def trim(samples: np.ndarray) -> np.ndarray:
    """Without the voice's own leading and trailing silence, so the pauses are exactly known."""
    loud = np.flatnonzero(np.abs(samples) > 500)
    return samples[loud[0] : loud[-1] + 1]


@pytest.fixture(scope="module")
def voices():
    return {name: trim(speech("The trail is twelve kilometres long.", RATE, voice=name)) for name in ("piper", "espeak")}


def test_the_vad_model_is_the_one_faster_whisper_ships():
    assert model_path().name == "silero_vad_v6.onnx"


@pytest.mark.parametrize("voice", ["piper", "espeak"])
def test_segments_follow_the_known_pauses(voices, voice):
    said = voices[voice]
    length = len(said) / RATE
    # two utterances: a 1.5 s pause splits them, a 0.3 s pause inside the second does not
    audio = np.concatenate([silence(1.0, RATE), said, silence(1.5, RATE), said, silence(0.3, RATE), said, silence(1.0, RATE)])
    turns = segment(audio)
    assert len(turns) == 2, turns
    (s1, e1), (s2, e2) = turns
    second = 1.0 + length + 1.5
    assert abs(s1 - 1.0) < 0.35 and abs(s2 - second) < 0.35
    assert abs((e1 - s1) - length) < 0.6 and abs((e2 - s2) - (2 * length + 0.3)) < 0.6


def test_patience_decides_whether_a_pause_ends_the_turn(voices):
    said = voices["piper"]
    audio = np.concatenate([said, silence(0.8, RATE), said, silence(1.5, RATE)])
    assert len(segment(audio, TurnRules(patience=0.6))) == 2
    assert len(segment(audio, TurnRules(patience=1.2))) == 1


def test_silence_and_noise_make_no_turn():
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 300, RATE * 3)).astype(np.int16)
    assert segment(np.concatenate([silence(2.0, RATE), noise])) == []


def _feed(detector, probabilities):
    events = []
    for p in probabilities:
        events += detector.feed(np.zeros(WINDOW, dtype=np.float32), p)
    return events


def test_the_turn_detector_speculates_then_resumes_then_ends():
    detector = TurnDetector(TurnRules())
    events = _feed(detector, [0.9] * 6 + [0.1] * 10 + [0.9] * 3 + [0.1] * 19)
    assert events == [START, SPECULATE, RESUMED, SPECULATE, END]
    assert detector.seconds > 0 and detector.speech_seconds() == pytest.approx(19 * WINDOW / RATE, abs=0.05)


def test_a_short_sound_does_not_start_a_turn_and_the_strict_gate_pauses_then_confirms():
    normal = TurnDetector(TurnRules())
    assert _feed(normal, [0.9, 0.9, 0.1] * 5) == []  # 64 ms bursts: never 0.15 s of speech
    strict = TurnDetector(TurnRules())
    strict.strict = True
    assert _feed(strict, [0.7] * 20) == []  # below the 0.8 threshold while the clone speaks
    events = _feed(strict, [0.9] * 16)
    assert events == [PAUSE, START]  # paused at 0.2 s, a turn at 0.5 s
    cough = TurnDetector(TurnRules())
    cough.strict = True
    assert _feed(cough, [0.9] * 8 + [0.1]) == [PAUSE, RESUMED]


def test_a_turn_stops_at_the_longest_allowed():
    detector = TurnDetector(TurnRules(max_turn=2.0))
    events = _feed(detector, [0.9] * 100)
    assert events[0] == START and events[-1] == END and detector.ended_by_limit


def test_browser_frames_are_resampled_to_16k_mono_per_session(runtime):
    from core.clones import create_clone

    session = CallSession(runtime, create_clone(runtime, "Echo").id)
    session._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)  # as start() makes it
    tone = (np.sin(np.arange(48_000) * 2 * np.pi * 440 / 48_000) * 8000).astype(np.int16)
    stereo = np.repeat(tone, 2)[None, :]  # interleaved s16 stereo, as aiortc's Opus decoder gives it
    for i in range(50):
        frame = av.AudioFrame.from_ndarray(stereo[:, i * 1920 : (i + 1) * 1920], format="s16", layout="stereo")
        frame.sample_rate = 48_000
        session.push_frame(frame)
    got = np.concatenate([session._frames.get_nowait()[1] for _ in range(session._frames.qsize())])
    assert abs(len(got) - RATE) < 400
    spectrum = np.abs(np.fft.rfft(got[1000:9000].astype(float)))
    assert abs(np.argmax(spectrum) * RATE / 8000 - 440) < 10  # the same tone at the new rate
    session.stop()


def test_tts_audio_is_resampled_to_the_reply_rate():
    resample = Resampler(24_000)
    pcm = (np.sin(np.arange(22_050) * 2 * np.pi * 300 / 22_050) * 8000).astype("<i2").tobytes()
    out = np.concatenate([resample(AudioChunk(pcm, 22_050)), resample(AudioChunk(pcm, 22_050))])
    assert abs(len(out) - 48_000) < 600
    assert len(resample(AudioChunk(b"\x01\x00" * 480, 24_000))) == 480  # already at the rate: untouched


def test_the_reply_buffer_counts_pending_audio_pauses_resumes_and_clears():
    now = [100.0]
    buffer = ReplyBuffer(rate=1000, frame=10, clock=lambda: now[0])
    assert not buffer.speaking() and not buffer.read().any()  # silence while empty
    buffer.mark()
    buffer.push(np.full(25, 7, dtype=np.int16))
    assert buffer.pending_seconds == pytest.approx(0.025) and buffer.speaking()
    assert buffer.read().tolist() == [7] * 10 and buffer.first_audio_at == 100.0
    buffer.pause()
    assert not buffer.read().any() and buffer.pending_seconds == pytest.approx(0.015)  # paused: nothing lost
    buffer.resume()
    now[0] = 100.5
    assert buffer.read().tolist() == [7] * 10 and buffer.last_audio_at == 100.5
    assert buffer.read().tolist() == [7] * 5 + [0] * 5  # the tail, padded with silence
    assert buffer.speaking()  # the browser is still playing it
    now[0] = 101.0
    assert not buffer.speaking()
    buffer.push(np.ones(100, dtype=np.int16))
    assert buffer.clear() == 100 and buffer.pending_seconds == 0 and not buffer.read().any()
