"""ElevenLabs speech to text through the real `elevenlabs` SDK against a local fake."""
from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from core.errors import AuthFailed, RateLimited, TimedOut
from core.providers.net import Policy
from core.providers.speech import get_stt
from tests.fakes.fixtures import quick_retries
from tests.fakes.server import Reply, Stall, Stream, fake_server, sequence  # noqa: F401

KEY = "xi-test-key-0123456789abcd"
PATH = "/v1/speech-to-text"
AUDIO = (np.sin(np.arange(16000) / 5) * 6000).astype(np.int16)  # one second at 16 kHz
RESULT = {
    "language_code": "eng",
    "language_probability": 0.98,
    "text": " Hello from the studio. ",
    "words": [{"text": "Hello", "start": 0.0, "end": 0.4, "type": "word", "logprob": -0.1}],
    "audio_duration_secs": 1.0,
}


@pytest.fixture
def stt(fake_server, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", fake_server.url)
    return quick_retries(get_stt("elevenlabs"))


def test_uploads_a_wav_and_returns_the_transcript(stt, fake_server):
    fake_server.route("POST", PATH, Reply(json=RESULT))

    transcript = stt.transcribe(AUDIO, 16000, language="en")

    assert transcript.text == "Hello from the studio."
    assert transcript.seconds == 1.0 and transcript.language == "eng"
    [request] = fake_server.calls("POST", PATH)
    assert request.headers["xi-api-key"] == KEY
    form = request.form()
    assert form["model_id"] == b"scribe_v1" and form["language_code"] == b"en"
    with wave.open(io.BytesIO(form["file"])) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (16000, 1, 16000)


def test_rejected_key(stt, fake_server):
    fake_server.route("POST", PATH, Reply(401, json={"detail": {"status": "invalid_api_key"}}))
    with pytest.raises(AuthFailed, match="Settings page"):
        stt.transcribe(AUDIO, 16000)


def test_rate_limited_with_retry_after(stt, fake_server):
    fake_server.route("POST", PATH, Reply(429, json={"detail": {"message": "slow down"}}, headers={"Retry-After": "1"}))
    with pytest.raises(RateLimited):
        stt.transcribe(AUDIO, 16000)
    assert stt.sleeps == [1.0, 1.0]


def test_server_error_then_success(stt, fake_server):
    fake_server.route("POST", PATH, sequence(Reply(500, json={"detail": "oops"}), Reply(json=RESULT)))
    assert stt.transcribe(AUDIO, 16000).text == "Hello from the studio."
    assert len(fake_server.calls("POST", PATH)) == 2


def test_stall_past_the_deadline(stt, fake_server):
    stt.policy = Policy(connect_timeout=1, read_timeout=0.3, deadline=1.0, retries=1, backoff=0.01, sleep=stt.sleeps.append)
    fake_server.route("POST", PATH, Stall(5))
    with pytest.raises(TimedOut):
        stt.transcribe(AUDIO, 16000)


def test_trickling_response_is_read_whole(stt, fake_server):
    body = Reply(json=RESULT).payload()
    pieces = [body[i : i + 16] for i in range(0, len(body), 16)]
    fake_server.route("POST", PATH, Stream(pieces, content_type="application/json", interval=0.01))
    assert stt.transcribe(AUDIO, 16000).text == "Hello from the studio."


def test_trickle_that_goes_silent_times_out(stt, fake_server):
    stt.policy = Policy(connect_timeout=1, read_timeout=0.3, deadline=1.0, retries=0, sleep=stt.sleeps.append)
    body = Reply(json=RESULT).payload()
    fake_server.route("POST", PATH, Stream([body[:20]], content_type="application/json", stall_after=5))
    with pytest.raises(TimedOut):
        stt.transcribe(AUDIO, 16000)
