"""The speech contracts: sentence splitting, streaming text into speech, WAV helpers, registries."""
from __future__ import annotations

import io
import wave

import av
import numpy as np
import pytest

from core.errors import InvalidInput
from core.providers.speech import (
    PCM,
    WAV,
    TTS,
    AudioChunk,
    SentenceBuffer,
    Tuning,
    Voice,
    clamp_settings,
    decode_audio,
    get_stt,
    get_tts,
    join_audio,
    read_wav,
    speak_stream,
    speakable,
    split_sentences,
    stt_names,
    tts_names,
    wav_bytes,
    write_wav,
)

TONE = (np.sin(np.arange(1600) / 4) * 10000).astype(np.int16)


def test_sentences_split_at_real_ends_only():
    text = "Dr. Smith measured 3.5 litres, e.g. in jar no. 4. Was it enough? Yes! Mr. J. Doe agreed."
    assert split_sentences(text) == [
        "Dr. Smith measured 3.5 litres, e.g. in jar no. 4.",
        "Was it enough?",
        "Yes!",
        "Mr. J. Doe agreed.",
    ]


def test_sentences_drop_citations_and_markdown_and_split_list_items():
    text = "## Leave\nStaff get **25 days** [1]. See [the handbook](http://x.invalid) [2, 3].\n\n- Carry over five\n- Ask HR"
    assert split_sentences(text) == ["Leave", "Staff get 25 days.", "See the handbook.", "Carry over five", "Ask HR"]
    assert split_sentences("A soft\nwrapped line ends here.\nNext one.") == ["A soft wrapped line ends here.", "Next one."]
    assert speakable("Quote `code` here [12]") == "Quote code here"


def test_a_very_long_sentence_is_cut_at_clause_breaks():
    sentence = ", ".join(f"clause number {n} keeps going" for n in range(30)) + "."
    parts = split_sentences(sentence)
    assert len(parts) > 1 and all(len(part) <= 241 for part in parts)
    assert " ".join(parts) == sentence


def test_buffer_hands_back_each_sentence_once_the_next_has_started():
    buffer = SentenceBuffer()
    assert buffer.feed("The first sen") == []
    assert buffer.feed("tence ends here.") == []  # could still be "here.5" or an abbreviation
    assert buffer.feed(" The second") == ["The first sentence ends here."]
    assert buffer.feed(" one is 2.") == []
    assert buffer.feed("5 long") == []
    assert buffer.flush() == ["The second one is 2.5 long"]
    assert buffer.flush() == []


class RecordingTTS(TTS):
    """A TTS that records what it was asked to say (the code under test is `speak_stream`)."""

    name = "recording"
    label = "Recording"

    def __init__(self):
        super().__init__()
        self.said = []

    def stream(self, text, voice="", settings=None, language=""):
        self.said.append(text)
        yield AudioChunk(TONE.tobytes(), 16000, text=text)


def test_speak_stream_starts_speaking_before_the_text_is_finished():
    tts = RecordingTTS()
    deltas = iter(["Hello the", "re. How are", " you? I am", " fine"])
    audio = speak_stream(tts, deltas)
    first = next(audio)
    assert first.text == "Hello there." and tts.said == ["Hello there."]
    assert [chunk.text for chunk in audio] == ["How are you?", "I am fine"]


def test_clamp_settings_keeps_each_tuning_on_its_scale():
    tunings = (Tuning("speed", "Speed", 0.7, 1.2, 1.0, 0.05), Tuning("style", "Style", 0, 1, 0, 0.1))
    assert clamp_settings(tunings, {"speed": 3, "unknown": 1}) == {"speed": 1.2, "style": 0.0}
    with pytest.raises(InvalidInput, match="Speed"):
        clamp_settings(tunings, {"speed": "fast"})


def test_wav_round_trip_and_stereo_is_averaged():
    data = wav_bytes(TONE, 16000)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
    assert read_wav(data) == (TONE.tobytes(), 16000)
    stereo = io.BytesIO()
    with wave.open(stereo, "wb") as wav:
        wav.setnchannels(2), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(np.stack([TONE, TONE // 2], axis=1).astype("<i2").tobytes())
    pcm, rate = read_wav(stereo.getvalue())
    assert rate == 8000 and np.array_equal(np.frombuffer(pcm, "<i2"), ((TONE.astype(int) + TONE // 2) / 2).astype(np.int16))


def _mp3(samples: np.ndarray, rate: int) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_encoded_audio_is_decoded_and_joined():
    tone = (np.sin(np.arange(22050) / 6) * 8000).astype(np.int16)
    pcm, rate = decode_audio(_mp3(tone, 22050))
    assert rate == 22050 and abs(len(pcm) // 2 - 22050) < 2500  # codec padding aside, the same length
    mixed = join_audio([AudioChunk(tone.tobytes(), 22050), AudioChunk(_mp3(tone, 22050), 0, "audio/mpeg")])
    assert mixed.mime == PCM and mixed.sample_rate == 22050 and 1.9 < mixed.seconds < 2.2
    with pytest.raises(InvalidInput, match="could not be read"):
        decode_audio(b"not audio at all")


def test_join_and_write_wav(tmp_path):
    chunks = [AudioChunk(TONE[:800].tobytes(), 16000), AudioChunk(TONE[800:].tobytes(), 16000)]
    audio = write_wav(tmp_path / "out.wav", chunks)
    assert audio.seconds == 0.1
    assert read_wav((tmp_path / "out.wav").read_bytes()) == (TONE.tobytes(), 16000)
    wavs = join_audio([AudioChunk(wav_bytes(TONE, 16000), 16000, WAV)] * 2)
    assert wavs.mime == PCM and wavs.data == TONE.tobytes() * 2


def test_registries_list_offline_first_and_refuse_unknown_names():
    assert tts_names()[0] == "offline" and stt_names()[0] == "offline"
    assert {"elevenlabs", "sarvam", "openai"} <= set(tts_names()) & set(stt_names())
    with pytest.raises(InvalidInput, match="no voice provider called 'nope'"):
        get_tts("nope")
    with pytest.raises(InvalidInput, match="speech-to-text provider"):
        get_stt("nope")


def test_voice_round_trips_through_a_dict():
    voice = Voice("sarvam", "anushka", "Anushka", "female", ("en", "hi"), "indian", custom=False)
    assert Voice.from_dict(voice.to_dict()) == voice
