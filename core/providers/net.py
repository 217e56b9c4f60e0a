"""Reliability for every remote call: timeouts, one overall deadline, bounded retries, plain errors.

Vendor modules build their SDK clients with `sdk_options` / `fern_options` (the SDK's own
retries off, so retries never stack; connect and read timeouts set) and wrap each call in
`call` (one request) or `stream` (a streamed response). Both retry only what is worth
retrying (429, 408, 409, 5xx, connection failures) with exponential backoff that honours
`Retry-After`, and only before the first item of a stream reached the caller. A stream that
trickles or stalls ends at the deadline: checked between items, and enforced by the read
timeout. Every failure leaves as a `core.errors.ProviderError` subclass whose message is one
sentence with the fix.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Iterable, Iterator, TypeVar

import httpx

from core.config import setting
from core.errors import AuthFailed, ProviderError, RateLimited, TimedOut

log = logging.getLogger(__name__)
T = TypeVar("T")

LABELS = {
    "openai": "OpenAI",
    "openai_compatible": "The OpenAI-compatible server",
    "anthropic": "Anthropic",
    "sarvam": "Sarvam",
    "elevenlabs": "ElevenLabs",
}
RETRYABLE_STATUS = {408, 409, 429}
_TIMEOUT_NAMES = ("Timeout", "TimeoutException", "APITimeoutError", "ReadTimeout", "ConnectTimeout")
_CONNECTION_NAMES = ("APIConnectionError", "ConnectError", "NetworkError", "TransportError", "RemoteProtocolError", "ReadError")
_SECRETISH = re.compile(r"\b(sk|sk-ant|xi|key)[-_][A-Za-z0-9_\-*.]{6,}", re.IGNORECASE)


def label(vendor: str) -> str:
    return LABELS.get(vendor, vendor.replace("_", " ").title())


@dataclass(frozen=True)
class Policy:
    """How long to wait and how often to retry. `sleep` is the clock's wait (tests record it)."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0  # the longest silence between two bytes
    deadline: float = 120.0  # the whole call, retries and streaming included
    retries: int = 2
    backoff: float = 0.5  # first wait; doubles per retry
    max_backoff: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is not waited for
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    @classmethod
    def from_settings(cls) -> "Policy":
        """Defaults, overridable by CLONE_STUDIO_CONNECT_TIMEOUT / _READ_TIMEOUT / _DEADLINE / _RETRIES."""
        base = cls()
        return replace(
            base,
            connect_timeout=float(setting("CLONE_STUDIO_CONNECT_TIMEOUT", str(base.connect_timeout))),
            read_timeout=float(setting("CLONE_STUDIO_READ_TIMEOUT", str(base.read_timeout))),
            deadline=float(setting("CLONE_STUDIO_DEADLINE", str(base.deadline))),
            retries=int(setting("CLONE_STUDIO_RETRIES", str(base.retries))),
        )

    @property
    def read(self) -> float:
        return min(self.read_timeout, self.deadline)

    @property
    def connect(self) -> float:
        return min(self.connect_timeout, self.deadline)


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0


# -- SDK configuration ---------------------------------------------------------------------


def httpx_timeout(policy: Policy, lib=httpx):
    """A timeout object for httpx (Fern SDKs: Sarvam, ElevenLabs) or httpx2 (OpenAI, Anthropic)."""
    return lib.Timeout(policy.read, connect=policy.connect, write=policy.read, pool=policy.connect)


def sdk_options(policy: Policy) -> dict:
    """Constructor options for the OpenAI and Anthropic SDKs: our timeouts, their retries off."""
    import httpx2

    return {"max_retries": 0, "timeout": httpx_timeout(policy, httpx2)}


def fern_options(policy: Policy) -> dict:
    """`request_options` for Fern-generated SDKs (sarvamai, elevenlabs): our timeouts, their retries off.

    Fern passes `timeout_in_seconds` straight to httpx, so a Timeout object keeps connect and
    read apart instead of one number for both."""
    return {"max_retries": 0, "timeout_in_seconds": httpx_timeout(policy)}


# -- error mapping ---------------------------------------------------------------------------


def _names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def status_of(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def headers_of(error: BaseException) -> dict[str, str]:
    headers = getattr(error, "headers", None)
    if headers is None:
        headers = getattr(getattr(error, "response", None), "headers", None)
    try:
        return {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
    except (TypeError, ValueError):
        return {}


def is_timeout(error: BaseException) -> bool:
    return isinstance(error, TimeoutError) or bool(_names(error) & set(_TIMEOUT_NAMES))


def is_connection_error(error: BaseException) -> bool:
    return isinstance(error, ConnectionError) or bool(_names(error) & set(_CONNECTION_NAMES))


def retry_after(headers: dict[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            log.info("ignoring unparsable retry-after-ms header %r", millis)
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        log.info("ignoring unparsable Retry-After header %r", value)
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def vendor_detail(error: BaseException) -> str:
    """The vendor's own short explanation from an error body, with anything key-like redacted."""
    body = getattr(error, "body", None)
    for name in ("error", "detail"):
        if isinstance(body, dict) and name in body:
            body = body[name]
    if isinstance(body, dict):
        body = body.get("message") or body.get("msg") or ""
    text = str(body or "").replace("\n", " ").strip().rstrip(".")
    return _SECRETISH.sub("[redacted]", text)[:160]


def _inner(name: str) -> str:
    """'The OpenAI-compatible server' inside a sentence."""
    return "the" + name[3:] if name.startswith("The ") else name


def _seconds(value: float) -> str:
    value = max(1, round(value))
    return "1 second" if value == 1 else f"{value} seconds"


def to_provider_error(error: BaseException, vendor: str, policy: Policy | None = None, *, streaming: bool = False) -> ProviderError:
    """One plain sentence with the fix, as the right ProviderError subclass."""
    if isinstance(error, ProviderError):
        return error
    name = label(vendor)
    policy = policy or Policy()
    status = status_of(error)
    if status in (401, 403):
        if status == 401:
            return AuthFailed(f"{name} rejected the API key; update it on the Settings page.")
        return AuthFailed(f"{name} refused this API key access to that model or feature; check the key's permissions or update it on the Settings page.")
    if status == 429:
        wait = retry_after(headers_of(error))
        when = f"wait about {_seconds(wait)}" if wait else "wait a minute"
        return RateLimited(f"{name} is rate limiting requests or the account is out of quota; {when} and try again, or switch to another provider.")
    if status is None and is_timeout(error):
        if streaming:
            return TimedOut(
                f"{name} went silent in the middle of the answer for {_seconds(policy.read)}, so it was cut short; "
                "try again, or answer offline instead."
            )
        return TimedOut(f"{name} did not answer within {_seconds(policy.read)}; try again, or answer offline instead.")
    if status is None and is_connection_error(error):
        if streaming:
            return ProviderError(f"The connection to {_inner(name)} dropped in the middle of the answer; try again, or answer offline instead.")
        return ProviderError(f"Could not reach {_inner(name)}; check the network connection (or the server's base URL on the Settings page) and try again.")
    detail = vendor_detail(error)
    if status is not None and 200 <= status < 300:  # an error event inside a streamed answer
        said = f" ({detail})" if detail else ""
        return ProviderError(f"{name} reported an error in the middle of the answer{said}; try again, or answer offline instead.")
    detail = f": {detail}" if detail else ""
    if status == 404:
        return ProviderError(f"{name} could not find that model or resource (HTTP 404{detail}); check the model name in the clone's settings.")
    if status is not None and status >= 500:
        return ProviderError(f"{name} had a server error (HTTP {status}); try again in a moment, or answer offline instead.")
    if status is not None:
        return ProviderError(f"{name} refused the request (HTTP {status}{detail}); check the clone's model and settings.")
    kind = type(error).__name__
    log.warning("%s: unexpected %s mapped to a provider error", vendor, kind, exc_info=error)
    return ProviderError(f"{name} failed unexpectedly ({kind}); try again, or answer offline instead.")


def _retry_delay(error: BaseException, attempt: int, policy: Policy, deadline: Deadline) -> float | None:
    """How long to wait before trying again, or None when this error must not be retried."""
    if isinstance(error, ProviderError) or attempt >= policy.retries:
        return None
    status = status_of(error)
    if status is not None:
        if status not in RETRYABLE_STATUS and status < 500:
            return None
    elif not (is_timeout(error) or is_connection_error(error)):
        return None
    hinted = retry_after(headers_of(error)) if status is not None else None
    if hinted is not None and hinted > policy.max_retry_after:
        return None
    delay = hinted if hinted is not None else min(policy.backoff * (2**attempt), policy.max_backoff)
    # leave time for the retry itself to answer
    if delay + min(policy.connect, 1.0) >= deadline.remaining():
        return None
    return delay


def _close(source: object) -> None:
    closer = getattr(source, "close", None)
    if callable(closer):
        closer()


def call(fn: Callable[[], T], *, vendor: str, policy: Policy | None = None) -> T:
    """Run one request with bounded retries; failures become ProviderError subclasses."""
    policy = policy or Policy.from_settings()
    deadline = Deadline(policy.deadline)
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as error:
            delay = _retry_delay(error, attempt, policy, deadline)
            if delay is None:
                raise to_provider_error(error, vendor, policy) from error
            log.info("%s: retrying after %s (HTTP %s), waiting %.2fs", vendor, type(error).__name__, status_of(error), delay)
            policy.sleep(delay)
            attempt += 1


def stream(open_stream: Callable[[], Iterable[T]], *, vendor: str, policy: Policy | None = None) -> Iterator[T]:
    """Items of a streamed response. Retries happen only until the first item arrives; after
    that a failure or the deadline raises (the caller keeps what it already received)."""
    policy = policy or Policy.from_settings()
    deadline = Deadline(policy.deadline)
    attempt = 0
    while True:
        source = None
        try:
            source = open_stream()
            items = iter(source)
            first = next(items)
            break
        except StopIteration:
            _close(source)
            return
        except Exception as error:
            _close(source)
            delay = _retry_delay(error, attempt, policy, deadline)
            if delay is None:
                raise to_provider_error(error, vendor, policy) from error
            log.info("%s: retrying stream after %s (HTTP %s), waiting %.2fs", vendor, type(error).__name__, status_of(error), delay)
            policy.sleep(delay)
            attempt += 1
    try:
        yield first
        _check(deadline, vendor, policy)
        while True:
            try:
                item = next(items)
            except StopIteration:
                return
            except Exception as error:
                raise to_provider_error(error, vendor, policy, streaming=True) from error
            yield item
            _check(deadline, vendor, policy)
    finally:
        _close(source)


def _check(deadline: Deadline, vendor: str, policy: Policy) -> None:
    if deadline.expired():
        raise TimedOut(
            f"{label(vendor)} was still answering after {_seconds(policy.deadline)}, so the answer was cut short; "
            "try again, or answer offline instead."
        )
