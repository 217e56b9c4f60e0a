"""OpenAI's wire format: chat.completion.chunk server-sent events, model lists, error bodies."""
from __future__ import annotations

from tests.fakes.server import Reply, Stream, sse


def chunk(content: str | None = None, finish: str | None = None, model: str = "gpt-4o-mini", role: str | None = None) -> dict:
    delta = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def usage_chunk(prompt_tokens: int, completion_tokens: int, model: str = "gpt-4o-mini") -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def completion_events(pieces: list[str], finish: str = "stop", usage: tuple[int, int] | None = (12, 5),
                      model: str = "gpt-4o-mini") -> list[bytes]:
    events = [chunk("", role="assistant", model=model)]
    events += [chunk(piece, model=model) for piece in pieces]
    events.append(chunk(None, finish=finish, model=model))
    if usage:
        events.append(usage_chunk(*usage, model=model))
    return sse(events, done=True)


def completion_stream(pieces: list[str], **options) -> Stream:
    interval = options.pop("interval", 0.0)
    stall_after = options.pop("stall_after", 0.0)
    return Stream(completion_events(pieces, **options), interval=interval, stall_after=stall_after)


def error(status: int, message: str, kind: str = "invalid_request_error", code: str | None = None,
          headers: dict | None = None) -> Reply:
    return Reply(status, json={"error": {"message": message, "type": kind, "param": None, "code": code}}, headers=headers or {})


def models(*ids: str) -> Reply:
    return Reply(json={"object": "list", "data": [{"id": i, "object": "model", "created": 1_700_000_000, "owned_by": "openai"} for i in ids]})


def embeddings(vectors: list[list[float]], model: str = "text-embedding-3-small", tokens: int = 8) -> Reply:
    return Reply(json={
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })


def hashed_vector(text: str, dim: int) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words point the same way."""
    import hashlib
    import math
    import re

    vector = [0.0] * dim
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dim] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def embeddings_handler(request) -> Reply:
    """Answers /v1/embeddings like OpenAI, with `hashed_vector`s of the requested width."""
    body = request.json()
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    dim = body.get("dimensions") or 1536
    return embeddings([hashed_vector(text, dim) for text in inputs], model=body["model"],
                      tokens=sum(len(text.split()) for text in inputs))
