"""The call worker over real WebRTC without a browser: an aiortc peer in the test sends a spoken
question through streamlit-webrtc's WebRtcWorker (wired as the Call page wires it) and records
the reply track. Also: barge-in over the reply, and no connection anywhere but this machine."""
from __future__ import annotations

import asyncio
import os
import socket
import threading

import numpy as np
import pytest

from core.call.session import CallSession
from core.call.turn import transcribe
from core.config import Settings
from core.conversations import thread_messages
from tests.call_peer import Loopback, silence, speech

QUESTION = "What are the bakery's opening hours?"
INTERRUPTION = "Wait, tell me about the hiking trail instead."
VOICE_TIMINGS = ("speech", "stt", "retrieval", "first_token", "first_audio", "total")
TIMEOUT = 120  # generous: the machine is shared


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A runtime with the demo clone (its documents ingested), shared by this module's calls."""
    from core.demo import ensure_demo_clone
    from core.runtime import open_runtime
    from tests.conftest import _fresh_database

    home = tmp_path_factory.mktemp("call") / "home"
    base, drop = os.environ.get("DATABASE_URL", ""), None
    url = f"sqlite:///{home / 'studio.db'}"
    if base.startswith("postgresql"):
        url, drop = _fresh_database(base)
    runtime = open_runtime(Settings(home=home, database_url=url, lancedb_uri=str(home / "lancedb"), max_upload_mb=5),
                           seed_demo=False)
    clone = ensure_demo_clone(runtime)
    yield runtime, clone
    runtime.close()
    if drop:
        drop()


def call_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("call-")]


def words_of(text: str) -> set[str]:
    return {w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split() if len(w) > 3}


def heard(runtime, clone, samples48: np.ndarray) -> str:
    """What Whisper makes of the reply audio."""
    return transcribe(runtime, clone, samples48[::3].copy())  # 48 kHz -> 16 kHz (speech band is far below 8 kHz)


async def _ask(runtime, clone):
    session = CallSession(runtime, clone.id)
    async with Loopback(session) as call:
        call.microphone.say(silence(0.5))
        call.microphone.say(speech(QUESTION), trailing_silence=1.0)
        assert await call.until(lambda: session.replies, TIMEOUT), session.snapshot()
        assert await call.until(lambda: not session.buffer.speaking(), TIMEOUT)
        await asyncio.sleep(0.3)
        reply_audio = call.recording.audio()
        config = call.worker.pc._RTCPeerConnection__configuration
    return session, reply_audio, config


def test_a_spoken_question_gets_a_spoken_cited_answer_saved_in_the_thread(demo):
    runtime, clone = demo
    session, reply_audio, config = asyncio.run(_ask(runtime, clone))

    (reply,) = session.replies
    assert "opening hours" in reply.transcript.lower() or "bakery" in reply.transcript.lower()
    with runtime.session() as db:
        user, answer = thread_messages(db, reply.thread_id)
    assert user.role == "user" and user.content == reply.transcript
    assert answer.role == "assistant" and answer.status == "complete"
    assert any(c["cited"] and c["document"] == "juniper-street-bakery-handbook.md" for c in answer.citations)
    assert all(isinstance(answer.timings.get(key), float) for key in VOICE_TIMINGS), answer.timings
    assert answer.timings["first_audio"] > answer.timings["stt"] > 0

    assert np.abs(reply_audio).max() > 1000  # the answer came back as sound on the reply track
    spoken = heard(runtime, clone, reply_audio)
    assert len(words_of(spoken) & words_of(answer.content)) >= 3, (spoken, answer.content)
    assert config.iceServers == []
    assert call_threads() == []  # nothing outlives the call


async def _interrupt(runtime, clone):
    session = CallSession(runtime, clone.id)
    async with Loopback(session) as call:
        call.microphone.say(silence(0.5))
        call.microphone.say(speech(QUESTION), trailing_silence=0.2)
        assert await call.until(lambda: session.buffer.first_audio_at is not None, TIMEOUT), session.snapshot()
        await asyncio.sleep(1.0)  # the clone is speaking
        call.microphone.say(speech(INTERRUPTION), trailing_silence=1.0)
        assert await call.until(lambda: len(session.replies) >= 2, TIMEOUT), session.snapshot()
        assert await call.until(lambda: not session.buffer.speaking(), TIMEOUT)
    return session


def test_speaking_over_the_answer_stops_it_and_keeps_it_as_interrupted(demo):
    runtime, clone = demo
    session = asyncio.run(_interrupt(runtime, clone))

    first, second = session.replies
    assert first.message.status == "interrupted"
    confirmed = [b for b in session.barge_ins if b.confirmed_at is not None]
    assert confirmed and confirmed[0].last_audio_at is not None
    assert confirmed[0].last_audio_at - confirmed[0].confirmed_at < 0.3  # the clone fell silent at once
    assert "trail" in second.transcript.lower() or "hiking" in second.transcript.lower()
    with runtime.session() as db:
        messages = thread_messages(db, first.thread_id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1].status == "interrupted" and messages[1].content  # kept, marked
    assert call_threads() == []


def test_a_call_reaches_nothing_but_this_machine(demo, monkeypatch):
    """No STUN, no TURN: every packet and every name lookup of a call stays on this host."""
    import asyncio.selector_events as events
    import ifaddr

    local = {"127.0.0.1", "::1"} | {
        ip.ip if isinstance(ip.ip, str) else ip.ip[0] for adapter in ifaddr.get_adapters() for ip in adapter.ips
    }
    sent_to, looked_up = set(), set()
    sendto, getaddrinfo = events._SelectorDatagramTransport.sendto, socket.getaddrinfo

    def spy_sendto(self, data, addr=None):
        if addr:
            sent_to.add(addr[0])
        return sendto(self, data, addr)

    def spy_getaddrinfo(host, *args, **kwargs):
        looked_up.add(host)
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(events._SelectorDatagramTransport, "sendto", spy_sendto)
    monkeypatch.setattr(socket, "getaddrinfo", spy_getaddrinfo)
    monkeypatch.setenv("HF_TOKEN", "would-reach-a-remote-turn-login")  # streamlit-webrtc's default would use it
    runtime, clone = demo

    async def connect():
        session = CallSession(runtime, clone.id)
        async with Loopback(session) as call:
            assert await call.until(lambda: len(call.recording.frames) > 10, 30)
            return call.worker.pc._RTCPeerConnection__configuration

    config = asyncio.run(connect())
    assert config.iceServers == []
    assert sent_to and sent_to <= local, sent_to - local
    assert {host for host in looked_up if host} <= local | {"localhost"}, looked_up
