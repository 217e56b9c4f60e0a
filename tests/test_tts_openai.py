"""OpenAI speech through the real `openai` SDK against a local fake, streamed as PCM."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import AuthFailed, RateLimited, TimedOut
from core.providers.net import Policy
from core.providers.speech import get_tts, join_audio
from tests.fakes.fixtures import quick_retries
from tests.fakes.server import Reply, Stall, Stream, fake_server, sequence  # noqa: F401

KEY = "sk-test-0123456789abcdef"
PATH = "/v1/audio/speech"
PCM = (np.sin(np.arange(2400) / 6) * 9000).astype("<i2").tobytes()  # 0.1 s at 24 kHz


@pytest.fixture
def tts(fake_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake_server.url}/v1")
    return quick_retries(get_tts("openai"))


def test_streams_pcm_per_sentence(tts, fake_server):
    fake_server.route("POST", PATH, Stream([PCM[:777], PCM[777:]], content_type="application/octet-stream"))
    chunks = list(tts.stream("One. Two!", "nova", {"speed": 1.25}))
    assert join_audio(chunks).data == PCM * 2 and {c.sample_rate for c in chunks} == {24000}
    first, second = fake_server.calls("POST", PATH)
    assert first.json() == {"model": "gpt-4o-mini-tts", "voice": "nova", "input": "One.", "response_format": "pcm", "speed": 1.25}
    assert second.json()["input"] == "Two!"


def test_rejected_key(tts, fake_server):
    fake_server.route("POST", PATH, Reply(401, json={"error": {"message": "Incorrect API key provided"}}))
    with pytest.raises(AuthFailed):
        list(tts.stream("Hello.", "alloy"))


def test_rate_limit_honours_retry_after(tts, fake_server):
    fake_server.route("POST", PATH, Reply(429, json={"error": {"message": "Rate limit"}}, headers={"Retry-After": "1"}))
    with pytest.raises(RateLimited):
        list(tts.stream("Hello.", "alloy"))
    assert tts.sleeps == [1.0, 1.0]


def test_server_error_then_success(tts, fake_server):
    fake_server.route("POST", PATH, sequence(Reply(500, json={"error": {"message": "x"}}), Stream([PCM], content_type="application/octet-stream")))
    assert join_audio(tts.stream("Hello.", "alloy")).data == PCM


def test_stall_past_the_deadline(tts, fake_server):
    tts.policy = Policy(connect_timeout=1, read_timeout=0.3, deadline=1.0, retries=1, backoff=0.01, sleep=tts.sleeps.append)
    fake_server.route("POST", PATH, Stall(5))
    with pytest.raises(TimedOut):
        list(tts.stream("Hello.", "alloy"))


def test_trickling_stream_ends_at_the_deadline(tts, fake_server):
    tts.policy = Policy(connect_timeout=1, read_timeout=0.5, deadline=1.0, retries=0, sleep=tts.sleeps.append)
    fake_server.route("POST", PATH, Stream([PCM[:480]] * 40, content_type="application/octet-stream", interval=0.1))
    received = []
    with pytest.raises(TimedOut, match="cut short"):
        for chunk in tts.stream("Hello.", "alloy"):
            received.append(chunk)
    assert received
