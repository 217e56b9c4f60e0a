"""Sarvam's wire format: chat completions streamed as OpenAI-shaped chunks; its error bodies."""
from __future__ import annotations

from tests.fakes import openai
from tests.fakes.server import Reply, Stream


def completion_stream(pieces: list[str], **options) -> Stream:
    options.setdefault("model", "sarvam-105b")
    return openai.completion_stream(pieces, **options)


def error(status: int, message: str, code: str = "invalid_api_key_error", headers: dict | None = None) -> Reply:
    return Reply(status, json={"error": {"message": message, "code": code, "request_id": "req_fake"}}, headers=headers or {})
