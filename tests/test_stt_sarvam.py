"""Sarvam speech to text through the real `sarvamai` SDK against a local fake."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import AuthFailed, RateLimited, TimedOut
from core.providers.net import Policy
from core.providers.speech import get_stt
from tests.fakes.fixtures import quick_retries
from tests.fakes.server import Reply, Stall, Stream, fake_server, sequence  # noqa: F401

KEY = "sarvam-test-key-0123456789"
PATH = "/speech-to-text"
AUDIO = (np.sin(np.arange(8000) / 5) * 6000).astype(np.int16)  # half a second at 16 kHz
RESULT = {"request_id": "r-9", "transcript": "नमस्ते, आप कैसे हैं?", "language_code": "hi-IN"}


@pytest.fixture
def stt(fake_server, monkeypatch):
    monkeypatch.setenv("SARVAM_API_KEY", KEY)
    monkeypatch.setenv("SARVAM_BASE_URL", fake_server.url)
    return quick_retries(get_stt("sarvam"))


def test_transcribes_in_the_clone_language(stt, fake_server):
    fake_server.route("POST", PATH, Reply(json=RESULT))
    transcript = stt.transcribe(AUDIO, 16000, language="hi")
    assert transcript.text == "नमस्ते, आप कैसे हैं?" and transcript.language == "hi-IN"
    assert transcript.seconds == 0.5
    [request] = fake_server.calls("POST", PATH)
    assert request.headers["api-subscription-key"] == KEY
    form = request.form()
    assert form["language_code"] == b"hi-IN" and form["model"] == b"saaras:v3" and form["mode"] == b"transcribe"
    assert form["file"][:4] == b"RIFF"


def test_without_a_language_sarvam_detects_it(stt, fake_server):
    fake_server.route("POST", PATH, Reply(json=RESULT))
    stt.transcribe(AUDIO, 16000)
    assert fake_server.calls("POST", PATH)[0].form()["language_code"] == b"unknown"


def test_rejected_key(stt, fake_server):
    fake_server.route("POST", PATH, Reply(401, json={"error": {"message": "bad key"}}))
    with pytest.raises(AuthFailed):
        stt.transcribe(AUDIO, 16000)


def test_rate_limited_with_retry_after(stt, fake_server):
    fake_server.route("POST", PATH, Reply(429, json={"error": {"message": "slow"}}, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimited):
        stt.transcribe(AUDIO, 16000)
    assert stt.sleeps == [2.0, 2.0]


def test_server_error_then_success(stt, fake_server):
    fake_server.route("POST", PATH, sequence(Reply(500, json={"error": {"message": "boom"}}), Reply(json=RESULT)))
    assert stt.transcribe(AUDIO, 16000).text.startswith("नमस्ते")


def test_stall_past_the_deadline(stt, fake_server):
    stt.policy = Policy(connect_timeout=1, read_timeout=0.3, deadline=1.0, retries=1, backoff=0.01, sleep=stt.sleeps.append)
    fake_server.route("POST", PATH, Stall(5))
    with pytest.raises(TimedOut):
        stt.transcribe(AUDIO, 16000)


def test_trickling_response_is_read_whole(stt, fake_server):
    body = Reply(json=RESULT).payload()
    fake_server.route("POST", PATH, Stream([body[i : i + 8] for i in range(0, len(body), 8)], content_type="application/json", interval=0.01))
    assert stt.transcribe(AUDIO, 16000).language == "hi-IN"
