"""Anthropic's Messages API, streamed: text deltas, token usage and the stop reason.

The SDK's Messages API takes no temperature, so a clone's temperature does not apply here."""
from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Iterable, Iterator

from core.errors import ProviderError
from core.providers import catalog, net
from core.providers.base import ChatRequest, Delta, Usage
from core.providers.registry import register_llm
from core.providers.remote import RemoteLLM, stop_reason


def split_system(messages: list[dict]) -> tuple[str, list[dict]]:
    """Anthropic takes the system prompt apart, and turns that alternate and start with the user."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"])
    turns: list[dict] = []
    for message in messages:
        if message["role"] == "system" or not message["content"]:
            continue
        if turns and turns[-1]["role"] == message["role"]:
            turns[-1] = {"role": message["role"], "content": turns[-1]["content"] + "\n\n" + message["content"]}
        else:
            turns.append({"role": message["role"], "content": message["content"]})
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    return system, turns


def read_events(events: Iterable, label: str) -> Iterator[Delta | Usage]:
    input_tokens = output_tokens = 0
    reason, finished = None, False
    for event in events:
        kind = getattr(event, "type", "")
        if kind == "message_start":
            usage = event.message.usage
            input_tokens = (usage.input_tokens or 0) + (getattr(usage, "cache_creation_input_tokens", 0) or 0) \
                + (getattr(usage, "cache_read_input_tokens", 0) or 0)
            output_tokens = usage.output_tokens or 0
        elif kind == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
            if event.delta.text:
                yield Delta(event.delta.text)
        elif kind == "message_delta":
            reason = event.delta.stop_reason or reason
            output_tokens = event.usage.output_tokens or output_tokens
        elif kind == "message_stop":
            finished = True
    if not finished:
        raise ProviderError(f"{label} ended the answer before it was finished; try again, or answer offline instead.")
    yield Usage(input_tokens, output_tokens, stop_reason(reason))


@register_llm
class AnthropicLLM(RemoteLLM):
    name = "anthropic"
    label = "Anthropic"
    default_model = catalog.default_model("anthropic")
    can_list_models = True

    @cached_property
    def client(self):
        from anthropic import Anthropic

        return Anthropic(api_key=self.api_key(), base_url=self.base_url(), **net.sdk_options(self.policy))

    def params(self, request: ChatRequest) -> dict:
        model = request.model or self.default_model
        system, turns = split_system(request.messages)
        params = {"model": model, "max_tokens": request.max_tokens, "messages": turns, "stream": True}
        if system:
            params["system"] = system
        return params

    def stream(self, request: ChatRequest) -> Iterator[Delta | Usage]:
        params = self.params(request)
        client = self.client  # made (SDK imported) before the deadline starts
        events = net.stream(lambda: client.messages.create(**params), vendor=self.vendor, policy=self.policy)
        yield from read_events(events, self.label)

    def list_model_ids(self) -> list[str]:
        policy = replace(self.policy, deadline=min(self.policy.deadline, 10.0), retries=min(self.policy.retries, 1))
        page = net.call(lambda: self.client.models.list(limit=100), vendor=self.vendor, policy=policy)
        return sorted(model.id for model in page.data)
