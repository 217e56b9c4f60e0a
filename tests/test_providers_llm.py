"""Every cloud LLM adapter through its vendor's real SDK against a local server speaking that
vendor's wire format: streaming success, 401, 429 with Retry-After, 500 then success, a stall
past the deadline, a trickling stream (partial kept, then TimedOut), a cut-off stream."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from core import keys
from core.errors import AuthFailed, MissingKey, ProviderError, RateLimited, TimedOut
from core.preferences import set_base_url
from core.providers.base import ChatRequest, Delta, Usage
from core.providers.remote import llm_for
from tests.fakes import anthropic as fake_anthropic
from tests.fakes import openai as fake_openai
from tests.fakes import sarvam as fake_sarvam
from tests.fakes.fixtures import db_runtime, fake_server, no_outside_keys, policy, waits  # noqa: F401
from tests.fakes.server import Stall, Stream, sse

KEY = "test-key-0123456789abcd"
PIECES = ["Hello", " there", ", friend."]


@dataclass(frozen=True)
class Vendor:
    name: str
    path: str
    base: Callable[[str], str]
    ok: Callable[..., Stream]
    error: Callable
    auth: Callable  # the key as the vendor's request carries it
    model: str


def _anthropic_key(request) -> str:
    """This SDK sends the key as a bearer token; older ones used x-api-key."""
    return request.headers.get("x-api-key") or request.headers["authorization"].removeprefix("Bearer ")


VENDORS = {
    "openai": Vendor("openai", "/v1/chat/completions", lambda url: f"{url}/v1", fake_openai.completion_stream,
                     fake_openai.error, lambda r: r.headers["authorization"].removeprefix("Bearer "), "gpt-4o-mini"),
    "openai_compatible": Vendor("openai_compatible", "/v1/chat/completions", lambda url: f"{url}/v1",
                                fake_openai.completion_stream, fake_openai.error,
                                lambda r: r.headers["authorization"].removeprefix("Bearer "), "llama3.2"),
    "anthropic": Vendor("anthropic", "/v1/messages", lambda url: url, fake_anthropic.message_stream,
                        fake_anthropic.error, _anthropic_key, "claude-haiku-4-5"),
    "sarvam": Vendor("sarvam", "/v1/chat/completions", lambda url: url, fake_sarvam.completion_stream,
                     fake_sarvam.error, lambda r: r.headers["api-subscription-key"], "sarvam-105b"),
}


@pytest.fixture(params=list(VENDORS))
def vendor(request) -> Vendor:
    return VENDORS[request.param]


@pytest.fixture
def llm(vendor, db_runtime, fake_server, policy):
    """The adapter as the studio makes it: key and base URL saved through Settings."""
    keys.save_key(db_runtime, vendor.name, KEY)
    set_base_url(db_runtime, vendor.name, vendor.base(fake_server.url))
    return llm_for(db_runtime, vendor.name, policy=policy)


def request_for(vendor: Vendor, **options) -> ChatRequest:
    messages = [
        {"role": "system", "content": "You are Ada. Use only the sources."},
        {"role": "user", "content": "What is the capital?"},
    ]
    return ChatRequest(messages=messages, model=vendor.model, question="What is the capital?", **options)


def collect(stream) -> tuple[list[str], list[Usage], Exception | None]:
    texts, usages = [], []
    try:
        for event in stream:
            if isinstance(event, Delta):
                texts.append(event.text)
            else:
                usages.append(event)
    except ProviderError as error:
        return texts, usages, error
    return texts, usages, None


def test_streams_text_usage_and_stop_reason(vendor, llm, fake_server):
    fake_server.route("POST", vendor.path, vendor.ok(PIECES))
    texts, usages, error = collect(llm.stream(request_for(vendor, temperature=0.2, max_tokens=321)))
    assert error is None
    assert "".join(texts) == "Hello there, friend."
    [usage] = usages
    assert usage.stop_reason == "stop" and usage.input_tokens > 0 and usage.output_tokens > 0
    [sent] = fake_server.calls("POST", vendor.path)
    assert vendor.auth(sent) == KEY
    body = sent.json()
    assert body["model"] == vendor.model and body["stream"] is True
    if vendor.name == "anthropic":  # system apart, no temperature (the Messages API takes none)
        assert body["system"] == "You are Ada. Use only the sources."
        assert body["messages"] == [{"role": "user", "content": "What is the capital?"}]
        assert body["max_tokens"] == 321 and "temperature" not in body
    else:
        assert body["temperature"] == 0.2 and body["messages"][0]["role"] == "system"
    if vendor.name == "openai":
        assert body["stream_options"] == {"include_usage": True} and body["max_completion_tokens"] == 321
    if vendor.name in ("openai_compatible", "sarvam"):
        assert body["max_tokens"] == 321


def test_key_rejected(vendor, llm, fake_server, waits):
    fake_server.route("POST", vendor.path, vendor.error(401, "invalid api key"))
    texts, _, error = collect(llm.stream(request_for(vendor)))
    assert isinstance(error, AuthFailed) and texts == []
    assert str(error).endswith("rejected the API key; update it on the Settings page.")
    assert len(fake_server.requests) == 1 and waits == []


def test_rate_limit_waits_for_retry_after_then_succeeds(vendor, llm, fake_server, waits):
    from tests.fakes.server import sequence

    fake_server.route("POST", vendor.path, sequence(vendor.error(429, "slow down", headers={"Retry-After": "0.2"}), vendor.ok(PIECES)))
    texts, _, error = collect(llm.stream(request_for(vendor)))
    assert error is None and "".join(texts) == "Hello there, friend."
    assert waits == [0.2] and len(fake_server.requests) == 2


def test_rate_limit_that_persists_is_reported(vendor, llm, fake_server, waits):
    fake_server.route("POST", vendor.path, vendor.error(429, "slow down", headers={"Retry-After": "0.1"}))
    _, _, error = collect(llm.stream(request_for(vendor)))
    assert isinstance(error, RateLimited) and "wait about 1 second" in str(error)
    assert waits == [0.1, 0.1] and len(fake_server.requests) == 3  # bounded: two retries, no SDK retries


def test_server_error_then_success(vendor, llm, fake_server, waits):
    from tests.fakes.server import sequence

    fake_server.route("POST", vendor.path, sequence(vendor.error(500, "boom", kind="api_error") if vendor.name in ("openai", "openai_compatible", "anthropic") else vendor.error(500, "boom"), vendor.ok(PIECES)))
    texts, _, error = collect(llm.stream(request_for(vendor)))
    assert error is None and "".join(texts) == "Hello there, friend."
    assert waits == [0.05]


def test_stall_past_the_deadline_times_out(vendor, llm, fake_server, waits):
    fake_server.route("POST", vendor.path, Stall(10))
    texts, _, error = collect(llm.stream(request_for(vendor)))
    assert isinstance(error, TimedOut) and texts == []
    assert "try again, or answer offline instead" in str(error)


def test_trickling_stream_keeps_the_partial_and_times_out(vendor, llm, fake_server):
    pieces = [f"w{i} " for i in range(30)]
    fake_server.route("POST", vendor.path, vendor.ok(pieces, interval=0.15))
    texts, usages, error = collect(llm.stream(request_for(vendor)))
    assert isinstance(error, TimedOut) and "cut short" in str(error)
    assert 0 < len(texts) < 30 and "".join(texts) == "".join(pieces[: len(texts)])
    assert usages == []


def unfinished(vendor: Vendor, pieces: list[str], stall_after: float = 0.0) -> Stream:
    """The first events of an answer, then no end: the connection stays open or just closes."""
    if vendor.name == "anthropic":
        return Stream(fake_anthropic.message_events(pieces, finish=False), stall_after=stall_after)
    return Stream(sse([fake_openai.chunk(p, model=vendor.model) for p in pieces]), stall_after=stall_after)


def test_stall_mid_stream_keeps_the_partial(vendor, llm, fake_server):
    fake_server.route("POST", vendor.path, unfinished(vendor, PIECES, stall_after=10))
    texts, usages, error = collect(llm.stream(request_for(vendor)))
    assert "".join(texts) == "Hello there, friend." and usages == []
    assert isinstance(error, TimedOut) and "went silent" in str(error)


def test_length_stop_reason(vendor, llm, fake_server):
    if vendor.name == "anthropic":
        fake_server.route("POST", vendor.path, vendor.ok(PIECES, stop_reason="max_tokens"))
    else:
        fake_server.route("POST", vendor.path, vendor.ok(PIECES, finish="length"))
    _, [usage], error = collect(llm.stream(request_for(vendor)))
    assert error is None and usage.stop_reason == "length"


def test_missing_key_says_how_to_fix(vendor, db_runtime, fake_server, policy):
    if vendor.name == "openai_compatible":
        pytest.skip("a local OpenAI-compatible server needs no key")
    set_base_url(db_runtime, vendor.name, vendor.base(fake_server.url))
    _, _, error = collect(llm_for(db_runtime, vendor.name, policy=policy).stream(request_for(vendor)))
    assert isinstance(error, MissingKey) and "Settings page" in str(error)
    assert fake_server.requests == []


def test_unreachable_server(vendor, db_runtime, policy):
    keys.save_key(db_runtime, vendor.name, KEY)
    set_base_url(db_runtime, vendor.name, "http://127.0.0.1:9")
    _, _, error = collect(llm_for(db_runtime, vendor.name, policy=policy).stream(request_for(vendor)))
    assert type(error) is ProviderError and "Could not reach" in str(error)


def test_stream_cut_off_without_an_end_is_an_error(vendor, llm, fake_server):
    fake_server.route("POST", vendor.path, unfinished(vendor, PIECES))
    texts, usages, error = collect(llm.stream(request_for(vendor)))
    assert "".join(texts) == "Hello there, friend." and usages == []
    assert type(error) is ProviderError and "before it was finished" in str(error)


def test_anthropic_error_event_mid_stream_keeps_the_partial(db_runtime, fake_server, policy):
    vendor = VENDORS["anthropic"]
    keys.save_key(db_runtime, "anthropic", KEY)
    set_base_url(db_runtime, "anthropic", fake_server.url)
    frames = fake_anthropic.message_events(PIECES[:2], finish=False)
    frames += sse([("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})], event_names=True)
    fake_server.route("POST", vendor.path, Stream(frames))
    texts, _, error = collect(llm_for(db_runtime, "anthropic", policy=policy).stream(request_for(vendor)))
    assert "".join(texts) == "Hello there"
    assert str(error) == "Anthropic reported an error in the middle of the answer (Overloaded); try again, or answer offline instead."
