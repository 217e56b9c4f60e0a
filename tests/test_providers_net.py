"""Timeouts, deadline, bounded retries honouring Retry-After, and plain error sentences."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from core.errors import AuthFailed, ProviderError, RateLimited, TimedOut
from core.providers import net
from tests.fakes.server import Reply, Stall, Stream, fake_server, sequence  # noqa: F401


class Waits(list):
    """Records the waits the retrier asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits():
    return Waits()


@pytest.fixture
def policy(waits):
    return net.Policy(connect_timeout=1, read_timeout=1, deadline=4, retries=2, backoff=0.25, sleep=waits)


def get(url, policy):
    response = httpx.get(url, timeout=net.httpx_timeout(policy))
    response.raise_for_status()
    return response.json()


def test_retry_after_seconds_date_and_millis():
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert net.retry_after({"retry-after": "7"}) == 7
    assert net.retry_after({"retry-after": format_datetime(now + timedelta(seconds=12), usegmt=True)}, now=now) == 12
    assert net.retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert net.retry_after({"retry-after": "soon"}) is None
    assert net.retry_after({}) is None


def test_call_honours_retry_after_then_succeeds(fake_server, policy, waits):
    fake_server.route("GET", "/x", sequence(Reply(429, json={}, headers={"Retry-After": "2"}), Reply(json={"ok": 1})))
    assert net.call(lambda: get(f"{fake_server.url}/x", policy), vendor="openai", policy=policy) == {"ok": 1}
    assert waits == [2.0]


def test_server_errors_back_off_exponentially_and_are_bounded(fake_server, policy, waits):
    fake_server.route("GET", "/x", Reply(503, json={"error": {"message": "overloaded"}}))
    with pytest.raises(ProviderError) as caught:
        net.call(lambda: get(f"{fake_server.url}/x", policy), vendor="anthropic", policy=policy)
    assert waits == [0.25, 0.5]
    assert len(fake_server.requests) == 3
    assert str(caught.value) == "Anthropic had a server error (HTTP 503); try again in a moment, or answer offline instead."


def test_auth_failure_is_not_retried(fake_server, policy, waits):
    fake_server.route("GET", "/x", Reply(401, json={"error": {"message": "Incorrect API key provided: sk-abc1234567"}}))
    with pytest.raises(AuthFailed) as caught:
        net.call(lambda: get(f"{fake_server.url}/x", policy), vendor="openai", policy=policy)
    assert str(caught.value) == "OpenAI rejected the API key; update it on the Settings page."
    assert waits == [] and len(fake_server.requests) == 1


def test_a_retry_after_longer_than_the_cap_is_not_waited_for(fake_server, policy, waits):
    fake_server.route("GET", "/x", Reply(429, json={}, headers={"Retry-After": "600"}))
    with pytest.raises(RateLimited) as caught:
        net.call(lambda: get(f"{fake_server.url}/x", policy), vendor="openai", policy=policy)
    assert waits == []
    assert "wait about 600 seconds" in str(caught.value)


def test_a_stall_times_out_with_a_plain_sentence(fake_server, waits):
    fake_server.route("GET", "/x", Stall(10))
    policy = net.Policy(connect_timeout=1, read_timeout=0.5, deadline=0.8, retries=2, sleep=waits)
    with pytest.raises(TimedOut) as caught:
        net.call(lambda: get(f"{fake_server.url}/x", policy), vendor="sarvam", policy=policy)
    assert str(caught.value) == "Sarvam did not answer within 1 second; try again, or answer offline instead."
    assert waits == []  # no time left in the deadline for a retry


def test_unreachable_server_is_a_provider_error(policy):
    with pytest.raises(ProviderError) as caught:
        net.call(lambda: get("http://127.0.0.1:9/x", policy), vendor="openai_compatible", policy=replace(policy, retries=0))
    assert str(caught.value).startswith("Could not reach the OpenAI-compatible server;")


def _lines(url, policy):
    with httpx.stream("GET", url, timeout=net.httpx_timeout(policy)) as response:
        response.raise_for_status()
        yield from response.iter_lines()


def test_stream_retries_only_before_the_first_item(fake_server, policy, waits):
    fake_server.route("GET", "/s", sequence(Reply(500, json={}), Stream(["a\n", "b\n"])))
    items = list(net.stream(lambda: _lines(f"{fake_server.url}/s", policy), vendor="openai", policy=policy))
    assert items == ["a", "b"] and waits == [0.25]


def test_trickling_stream_ends_at_the_deadline_keeping_the_partial(fake_server, waits):
    fake_server.route("GET", "/s", Stream([f"{i}\n" for i in range(40)], interval=0.2))
    policy = net.Policy(read_timeout=2, deadline=0.7, sleep=waits)
    received = []
    with pytest.raises(TimedOut) as caught:
        for item in net.stream(lambda: _lines(f"{fake_server.url}/s", policy), vendor="openai", policy=policy):
            received.append(item)
    assert 1 <= len(received) < 40
    assert received == [str(i) for i in range(len(received))]
    assert "was cut short" in str(caught.value)


def test_stall_mid_stream_is_ended_by_the_read_timeout(fake_server, waits):
    fake_server.route("GET", "/s", Stream(["a\n", "b\n"], stall_after=10))
    policy = net.Policy(read_timeout=0.5, deadline=5, sleep=waits)
    received = []
    with pytest.raises(TimedOut) as caught:
        for item in net.stream(lambda: _lines(f"{fake_server.url}/s", policy), vendor="anthropic", policy=policy):
            received.append(item)
    assert received == ["a", "b"]
    assert str(caught.value).startswith("Anthropic went silent in the middle of the answer")
    assert waits == []


def test_vendor_detail_redacts_key_like_text():
    class Fake(Exception):
        status_code = 400
        body = {"error": {"message": "bad key sk-proj-ABCDEFGH123 in request"}}

    error = net.to_provider_error(Fake(), "openai")
    assert "ABCDEFGH123" not in str(error) and "[redacted]" in str(error)


def test_sdk_options_disable_sdk_retries():
    policy = net.Policy(connect_timeout=2, read_timeout=9, deadline=5)
    options = net.sdk_options(policy)
    assert options["max_retries"] == 0
    assert options["timeout"].connect == 2 and options["timeout"].read == 5
    assert net.fern_options(policy)["max_retries"] == 0
