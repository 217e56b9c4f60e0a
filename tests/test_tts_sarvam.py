"""Sarvam text to speech through the real `sarvamai` SDK against a local fake."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from core.errors import AuthFailed, InvalidInput, RateLimited, TimedOut
from core.providers.net import Policy
from core.providers.speech import get_tts, join_audio, wav_bytes
from tests.fakes.fixtures import quick_retries
from tests.fakes.server import Reply, Stall, Stream, fake_server, sequence  # noqa: F401

KEY = "sarvam-test-key-0123456789"
PATH = "/text-to-speech"
PCM = (np.sin(np.arange(2205) / 7) * 7000).astype("<i2")


def ok(request=None):
    return Reply(json={"request_id": "r-1", "audios": [base64.b64encode(wav_bytes(PCM, 22050)).decode()]})


@pytest.fixture
def tts(fake_server, monkeypatch):
    monkeypatch.setenv("SARVAM_API_KEY", KEY)
    monkeypatch.setenv("SARVAM_BASE_URL", fake_server.url)
    return quick_retries(get_tts("sarvam"))


def test_one_request_per_sentence_with_pitch_pace_loudness_and_language(tts, fake_server):
    fake_server.route("POST", PATH, ok)

    chunks = list(tts.stream("Namaste. Aap kaise hain?", "karun", {"pitch": 0.2, "pace": 9, "loudness": 1.5}, language="hi"))

    assert [c.text for c in chunks] == ["Namaste.", "Aap kaise hain?"]
    assert join_audio(chunks).data == PCM.tobytes() * 2
    first, second = fake_server.calls("POST", PATH)
    assert first.headers["api-subscription-key"] == KEY
    body = first.json()
    assert body["text"] == "Namaste." and second.json()["text"] == "Aap kaise hain?"
    assert body["language_code"] == "hi-IN" and body["speaker"] == "karun" and body["model"] == "bulbul:v2"
    assert (body["pitch"], body["pace"], body["loudness"]) == (0.2, 3.0, 1.5)  # pace clamped to 0.3-3.0
    assert body["speech_sample_rate"] == 22050


def test_target_language_in_the_voice_settings_wins(tts, fake_server):
    fake_server.route("POST", PATH, ok)
    list(tts.stream("Vanakkam.", "anushka", {"language": "ta-IN"}, language="en"))
    assert fake_server.calls("POST", PATH)[0].json()["language_code"] == "ta-IN"


def test_unsupported_language_is_refused_plainly(tts):
    with pytest.raises(InvalidInput, match="Sarvam does not speak 'fr'"):
        list(tts.stream("Bonjour.", "anushka", language="fr"))


def test_voices_are_the_bulbul_speakers(tts):
    voices = {v.voice_id: v for v in tts.list_voices()}
    assert voices["anushka"].gender == "female" and voices["abhilash"].gender == "male"
    assert "hi" in voices["vidya"].languages


def test_rejected_key(tts, fake_server):
    fake_server.route("POST", PATH, Reply(403, json={"error": {"message": "Invalid API key", "code": "invalid_api_key_error"}}))
    with pytest.raises(AuthFailed):
        list(tts.stream("Hello.", "anushka"))


def test_rate_limit_honours_retry_after(tts, fake_server):
    fake_server.route("POST", PATH, sequence(Reply(429, json={"error": {"message": "rate"}}, headers={"Retry-After": "3"}), ok()))
    assert join_audio(tts.stream("Hello.", "anushka")).data == PCM.tobytes()
    assert tts.sleeps == [3.0]


def test_rate_limit_that_persists(tts, fake_server):
    fake_server.route("POST", PATH, Reply(429, json={"error": {"message": "rate"}}, headers={"Retry-After": "1"}))
    with pytest.raises(RateLimited, match="wait about 1 second"):
        list(tts.stream("Hello.", "anushka"))


def test_server_error_then_success(tts, fake_server):
    fake_server.route("POST", PATH, sequence(Reply(500, json={"error": {"message": "boom"}}), ok()))
    assert join_audio(tts.stream("Hello.", "anushka")).data == PCM.tobytes()


def test_stall_past_the_deadline(tts, fake_server):
    tts.policy = Policy(connect_timeout=1, read_timeout=0.3, deadline=1.0, retries=1, backoff=0.01, sleep=tts.sleeps.append)
    fake_server.route("POST", PATH, Stall(5))
    with pytest.raises(TimedOut):
        list(tts.stream("Hello.", "anushka"))


def test_trickling_response_is_read_whole(tts, fake_server):
    body = ok().payload()
    pieces = [body[i : i + 512] for i in range(0, len(body), 512)]
    fake_server.route("POST", PATH, Stream(pieces, content_type="application/json", interval=0.01))
    assert join_audio(tts.stream("Hello.", "anushka")).data == PCM.tobytes()


def test_second_sentence_failing_keeps_the_first_sentence_audio(tts, fake_server):
    tts.policy = Policy(connect_timeout=1, read_timeout=0.3, deadline=5, retries=0, sleep=tts.sleeps.append)
    fake_server.route("POST", PATH, sequence(ok(), Stall(5)))
    received = []
    with pytest.raises(TimedOut):
        for chunk in tts.stream("First one. Second one.", "anushka"):
            received.append(chunk)
    assert [c.text for c in received] == ["First one."]
