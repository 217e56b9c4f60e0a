"""Request limits: a per-token rate limit, the body size and the question length.

The rate limit uses the `limits` library's moving window (the same library behind slowapi and
Flask-Limiter): exact "N per minute" semantics, a reset time for Retry-After, and the same
code on memory or Redis storage, so several studio processes share one budget per token when
REDIS_URL is set. A hand-written token bucket would need its own Redis script for that.
"""
from __future__ import annotations

import json
import math
import threading
import time

from limits import parse, storage, strategies

from core.api.errors import ApiError
from core.config import setting

DEFAULT_RATE = "60/minute"
DEFAULT_MAX_BODY = 64 * 1024
MAX_QUESTION_CHARS = 1000


class RateLimiter:
    def __init__(self, rate: str | None = None, redis_url: str | None = None):
        self.rate = parse(rate or setting("CLONE_STUDIO_API_RATE_LIMIT", DEFAULT_RATE))
        uri = redis_url or setting("REDIS_URL")
        self.storage = storage.storage_from_string(uri) if uri else storage.MemoryStorage()
        self.limiter = strategies.MovingWindowRateLimiter(self.storage)

    def describe(self) -> str:
        unit = self.rate.GRANULARITY.name
        per = unit if self.rate.multiples == 1 else f"{self.rate.multiples} {unit}s"
        return f"{self.rate.amount} requests per {per}"

    def check(self, token_id: str) -> None:
        """Count one request for the token; over the limit raises 429 with Retry-After."""
        if self.limiter.hit(self.rate, "api-token", token_id):
            return
        reset = self.limiter.get_window_stats(self.rate, "api-token", token_id).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise ApiError(429, f"Too many requests for this token; wait {wait} s and try again (the limit is {self.describe()}).",
                       {"Retry-After": str(wait)})


_limiter: RateLimiter | None = None
_lock = threading.Lock()


def get_limiter() -> RateLimiter:
    global _limiter
    with _lock:
        if _limiter is None:
            _limiter = RateLimiter()
        return _limiter


def reset_limiter() -> None:
    global _limiter
    with _lock:
        _limiter = None


def max_body_bytes() -> int:
    return int(setting("CLONE_STUDIO_API_MAX_BODY", str(DEFAULT_MAX_BODY)))


def parse_body(raw: bytes) -> dict:
    """A JSON object, or 400 with one sentence."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "The request body is not valid JSON; send an object such as {\"query\": \"...\"}.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object, such as {\"query\": \"...\"}.")
    return body


def question_from(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"Send the question as a non-empty string in \"{field}\".")
    if len(value) > MAX_QUESTION_CHARS:
        raise ApiError(400, f"The question is too long; keep it under {MAX_QUESTION_CHARS:,} characters.")
    return " ".join(value.split())
