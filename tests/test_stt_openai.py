"""OpenAI transcription through the real `openai` SDK against a local fake."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import AuthFailed, RateLimited, TimedOut
from core.providers.net import Policy
from core.providers.speech import get_stt
from tests.fakes.fixtures import quick_retries
from tests.fakes.server import Reply, Stall, Stream, fake_server, sequence  # noqa: F401

KEY = "sk-test-0123456789abcdef"
PATH = "/v1/audio/transcriptions"
AUDIO = (np.sin(np.arange(24000) / 5) * 0.3).astype(np.float32)  # one second at 24 kHz, as floats
RESULT = {"text": "What does the handbook say about leave?", "usage": {"type": "duration", "seconds": 1}}


@pytest.fixture
def stt(fake_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake_server.url}/v1")
    return quick_retries(get_stt("openai"))


def test_uploads_wav_and_returns_text(stt, fake_server):
    fake_server.route("POST", PATH, Reply(json=RESULT))
    transcript = stt.transcribe(AUDIO, 24000, language="en-US")
    assert transcript.text == RESULT["text"] and transcript.seconds == 1.0
    [request] = fake_server.calls("POST", PATH)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    form = request.form()
    assert form["model"] == b"gpt-4o-mini-transcribe" and form["language"] == b"en"
    assert request.filenames()["file"] == "speech.wav" and form["file"][:4] == b"RIFF"


def test_rejected_key(stt, fake_server):
    fake_server.route("POST", PATH, Reply(401, json={"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}))
    with pytest.raises(AuthFailed, match="OpenAI rejected the API key"):
        stt.transcribe(AUDIO, 24000)


def test_rate_limited_with_retry_after(stt, fake_server):
    fake_server.route("POST", PATH, Reply(429, json={"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimited):
        stt.transcribe(AUDIO, 24000)
    assert stt.sleeps == [2.0, 2.0] and len(fake_server.calls("POST", PATH)) == 3


def test_server_error_then_success(stt, fake_server):
    fake_server.route("POST", PATH, sequence(Reply(500, json={"error": {"message": "oops"}}), Reply(json=RESULT)))
    assert stt.transcribe(AUDIO, 24000).text == RESULT["text"]


def test_stall_past_the_deadline(stt, fake_server):
    stt.policy = Policy(connect_timeout=1, read_timeout=0.3, deadline=1.0, retries=1, backoff=0.01, sleep=stt.sleeps.append)
    fake_server.route("POST", PATH, Stall(5))
    with pytest.raises(TimedOut):
        stt.transcribe(AUDIO, 24000)


def test_trickling_response_is_read_whole(stt, fake_server):
    body = Reply(json=RESULT).payload()
    fake_server.route("POST", PATH, Stream([body[i : i + 8] for i in range(0, len(body), 8)], content_type="application/json", interval=0.01))
    assert stt.transcribe(AUDIO, 24000).text == RESULT["text"]
