"""The local vendor stand-in itself: replies, streams, stalls, sequences, recorded requests."""
from __future__ import annotations

import httpx
import pytest

from tests.fakes.server import Reply, Stall, Stream, fake_server, sequence, sse  # noqa: F401


def test_json_reply_and_recorded_request(fake_server):
    fake_server.route("POST", "/v1/echo", lambda request: Reply(json={"got": request.json()}))
    response = httpx.post(f"{fake_server.url}/v1/echo?x=1", json={"a": 1}, headers={"Authorization": "Bearer k"})
    assert response.json() == {"got": {"a": 1}}
    [request] = fake_server.calls("POST", "/v1/echo")
    assert request.headers["authorization"] == "Bearer k"
    assert request.query == {"x": ["1"]}


def test_status_with_headers_then_success(fake_server):
    fake_server.route("GET", "/r", sequence(Reply(429, json={}, headers={"Retry-After": "2"}), Reply(json={"ok": True})))
    first = httpx.get(f"{fake_server.url}/r")
    assert first.status_code == 429 and first.headers["retry-after"] == "2"
    assert httpx.get(f"{fake_server.url}/r").json() == {"ok": True}


def test_unknown_route_is_404(fake_server):
    assert httpx.get(f"{fake_server.url}/nope").status_code == 404


def test_stream_of_server_sent_events(fake_server):
    fake_server.route("GET", "/s", Stream(sse([{"n": 1}, {"n": 2}], done=True)))
    with httpx.stream("GET", f"{fake_server.url}/s") as response:
        body = b"".join(response.iter_bytes())
    assert body == b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'


def test_named_events(fake_server):
    assert sse([("ping", {"type": "ping"})], event_names=True) == [b'event: ping\ndata: {"type": "ping"}\n\n']


def test_stall_before_headers_hits_the_client_timeout(fake_server):
    fake_server.route("GET", "/stall", Stall(5))
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{fake_server.url}/stall", timeout=httpx.Timeout(0.3))


def test_stall_mid_stream_keeps_the_chunks_already_sent(fake_server):
    fake_server.route("GET", "/s", Stream([b"one ", b"two "], stall_after=5, content_type="application/octet-stream"))
    received = []
    with pytest.raises(httpx.ReadTimeout):
        with httpx.stream("GET", f"{fake_server.url}/s", timeout=httpx.Timeout(0.5)) as response:
            for chunk in response.iter_bytes():
                received.append(chunk)
    assert b"".join(received) == b"one two "


def test_multipart_form_is_readable(fake_server):
    fake_server.route("POST", "/up", lambda request: Reply(json={k: len(v) for k, v in request.form().items()}))
    response = httpx.post(f"{fake_server.url}/up", data={"model": "m"}, files={"file": ("a.wav", b"RIFF1234", "audio/wav")})
    assert response.json() == {"model": 1, "file": 8}
    assert fake_server.requests[0].filenames() == {"file": "a.wav"}
