"""Anthropic's wire format: Messages API streamed events, model lists, error bodies."""
from __future__ import annotations

from tests.fakes.server import Reply, Stream, sse


def message_events(pieces: list[str], stop_reason: str = "end_turn", input_tokens: int = 25, output_tokens: int = 9,
                   model: str = "claude-haiku-4-5", finish: bool = True) -> list[bytes]:
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "content": [], "model": model,
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": piece}}) for piece in pieces]
    if finish:
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                               "usage": {"output_tokens": output_tokens}}),
            ("message_stop", {"type": "message_stop"}),
        ]
    return sse(events, event_names=True)


def message_stream(pieces: list[str], interval: float = 0.0, stall_after: float = 0.0, **options) -> Stream:
    return Stream(message_events(pieces, **options), interval=interval, stall_after=stall_after)


def error(status: int, message: str, kind: str = "invalid_request_error", headers: dict | None = None) -> Reply:
    return Reply(status, json={"type": "error", "error": {"type": kind, "message": message}}, headers=headers or {})


def models(*ids: str) -> Reply:
    data = [{"type": "model", "id": i, "display_name": i, "created_at": "2025-01-01T00:00:00Z"} for i in ids]
    return Reply(json={"data": data, "has_more": False, "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None})
