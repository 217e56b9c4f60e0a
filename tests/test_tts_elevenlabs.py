"""ElevenLabs voices and streamed speech through the real `elevenlabs` SDK against a local fake."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import AuthFailed, MissingKey, ProviderError, RateLimited, TimedOut
from core.providers.net import Policy
from core.providers.speech import get_tts, join_audio
from tests.fakes.fixtures import quick_retries
from tests.fakes.server import Reply, Stall, Stream, fake_server, sequence  # noqa: F401

KEY = "xi-test-key-0123456789abcd"
VOICE = "21m00Tcm4TlvDq8ikWAM"
TTS_PATH = f"/v1/text-to-speech/{VOICE}/stream"
PCM = (np.sin(np.arange(2205) / 8) * 8000).astype("<i2").tobytes()  # 0.1 s at 22.05 kHz


def voice_json(voice_id, name, category="premade", **labels):
    return {
        "voice_id": voice_id,
        "name": name,
        "category": category,
        "labels": labels,
        "description": None,
        "preview_url": f"https://example.invalid/{voice_id}.mp3",
        "verified_languages": [{"language": "en", "model_id": "eleven_multilingual_v2", "accent": "american"}],
    }


@pytest.fixture
def tts(fake_server, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", fake_server.url)
    return quick_retries(get_tts("elevenlabs"))


def test_lists_every_page_of_voices_and_marks_custom_ones(tts, fake_server):
    first = {
        "voices": [voice_json(VOICE, "Rachel", gender="female", accent="american")],
        "has_more": True, "total_count": 2, "next_page_token": "page-2",
    }
    second = {
        "voices": [voice_json("my-clone-1", "My cloned voice", "cloned", gender="male", accent="british")],
        "has_more": False, "total_count": 2, "next_page_token": None,
    }
    fake_server.route("GET", "/v2/voices", lambda request: Reply(json=second if request.query.get("next_page_token") else first))

    voices = tts.list_voices()

    assert [(v.name, v.gender, v.accent, v.custom) for v in voices] == [
        ("Rachel", "female", "american", False),
        ("My cloned voice", "male", "british", True),
    ]
    assert voices[0].languages == ("en",)
    requests = fake_server.calls("GET", "/v2/voices")
    assert requests[0].headers["xi-api-key"] == KEY
    assert requests[1].query["next_page_token"] == ["page-2"]


def test_streams_pcm_per_sentence_with_voice_settings(tts, fake_server):
    fake_server.route("POST", TTS_PATH, Stream([PCM[:1001], PCM[1001:3000], PCM[3000:]], content_type="audio/pcm"))

    chunks = list(tts.stream("Hello there. How are you today?", VOICE, {"stability": 0.3, "speed": 5, "style": 0.2}))

    assert {chunk.sample_rate for chunk in chunks} == {22050}
    assert all(len(chunk.data) % 2 == 0 for chunk in chunks)
    assert [c.text for c in chunks][0] == "Hello there." and chunks[-1].text == "How are you today?"
    assert join_audio(chunks).data == PCM * 2
    first, second = fake_server.calls("POST", TTS_PATH)
    body = first.json()
    assert first.query["output_format"] == ["pcm_22050"]
    assert body["text"] == "Hello there." and body["next_text"] == "How are you today?"
    assert second.json()["previous_text"] == "Hello there."
    settings = body["voice_settings"]
    assert settings["stability"] == 0.3 and settings["speed"] == 1.2  # clamped to ElevenLabs' 0.7-1.2
    assert settings["similarity_boost"] == 0.75 and settings["style"] == 0.2


def test_missing_key_says_where_to_add_it(fake_server, monkeypatch):
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", fake_server.url)
    with pytest.raises(MissingKey, match="Settings page"):
        list(get_tts("elevenlabs").stream("Hi there.", VOICE))


def test_rejected_key_is_auth_failed(tts, fake_server):
    fake_server.route("POST", TTS_PATH, Reply(401, json={"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}))
    with pytest.raises(AuthFailed, match="rejected the API key"):
        list(tts.stream("Hi there.", VOICE))
    assert len(fake_server.calls("POST", TTS_PATH)) == 1  # never retried


def test_rate_limit_honours_retry_after_then_gives_up(tts, fake_server):
    fake_server.route("POST", TTS_PATH, Reply(429, json={"detail": {"message": "Too many requests"}}, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimited, match="about 2 seconds"):
        list(tts.stream("Hi there.", VOICE))
    assert tts.sleeps == [2.0, 2.0]
    assert len(fake_server.calls("POST", TTS_PATH)) == 3  # one try plus two retries, the SDK's own retries off


def test_server_error_then_success(tts, fake_server):
    fake_server.route("POST", TTS_PATH, sequence(Reply(500, json={"detail": "boom"}), Stream([PCM], content_type="audio/pcm")))
    audio = join_audio(tts.stream("Hi there.", VOICE))
    assert audio.data == PCM
    assert len(tts.sleeps) == 1


def test_stall_past_the_deadline_times_out(tts, fake_server):
    tts.policy = Policy(connect_timeout=1, read_timeout=0.3, deadline=1.0, retries=1, backoff=0.01, sleep=tts.sleeps.append)
    fake_server.route("POST", TTS_PATH, Stall(5))
    with pytest.raises(TimedOut):
        list(tts.stream("Hi there.", VOICE))


def test_trickling_stream_ends_at_the_deadline_keeping_what_arrived(tts, fake_server):
    tts.policy = Policy(connect_timeout=1, read_timeout=0.5, deadline=1.0, retries=0, sleep=tts.sleeps.append)
    fake_server.route("POST", TTS_PATH, Stream([PCM[:400]] * 40, content_type="audio/pcm", interval=0.1))
    received = []
    with pytest.raises(TimedOut, match="cut short"):
        for chunk in tts.stream("Hi there.", VOICE):
            received.append(chunk)
    assert received and sum(len(c.data) for c in received) < 40 * 400


def test_unknown_voice_is_a_plain_provider_error(tts, fake_server):
    fake_server.route("POST", "/v1/text-to-speech/nope/stream", Reply(404, json={"detail": {"message": "voice not found"}}))
    with pytest.raises(ProviderError, match="404"):
        list(tts.stream("Hi there.", "nope"))
