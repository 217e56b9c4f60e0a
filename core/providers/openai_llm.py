"""OpenAI chat completions, streamed, and any OpenAI-compatible server (Ollama, llama.cpp, vLLM,
LM Studio) through the same SDK. The SDK's OPENAI_BASE_URL environment variable works too."""
from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Iterable, Iterator

from core.errors import ProviderError
from core.providers import catalog, net
from core.providers.base import ChatRequest, Delta, Usage
from core.providers.registry import register_llm
from core.providers.remote import RemoteLLM, usage_or_estimate

_NOT_CHAT = ("audio", "realtime", "tts", "transcribe", "image", "search", "embedding", "moderation", "instruct")


def read_chunks(chunks: Iterable, messages: list[dict], label: str) -> Iterator[Delta | Usage]:
    """Deltas from chat.completion.chunk objects (OpenAI and Sarvam share the shape), then Usage.

    A stream that ends without a finish reason was cut off: that raises, so the caller keeps
    the partial answer and marks it partial."""
    parts: list[str] = []
    reason, usage = None, None
    for chunk in chunks:
        if getattr(chunk, "usage", None):
            usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
        for choice in chunk.choices or ():
            if choice.index:
                continue
            delta = choice.delta
            text = (getattr(delta, "content", None) or getattr(delta, "refusal", None) or "") if delta else ""
            if text:
                parts.append(text)
                yield Delta(text)
            reason = choice.finish_reason or reason
    if reason is None:
        raise ProviderError(f"{label} ended the answer before it was finished; try again, or answer offline instead.")
    yield usage_or_estimate(usage, messages, "".join(parts), reason)


@register_llm
class OpenAILLM(RemoteLLM):
    name = "openai"
    label = "OpenAI"
    default_model = catalog.default_model("openai")
    limit_param = "max_completion_tokens"  # what current OpenAI models take; compatible servers take max_tokens
    can_list_models = True

    @cached_property
    def client(self):
        from openai import OpenAI

        url = self.base_url()
        return OpenAI(api_key=self.api_key(), **({"base_url": url} if url else {}), **net.sdk_options(self.policy))

    def params(self, request: ChatRequest) -> dict:
        model = request.model or self.default_model
        params = {
            "model": model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            self.limit_param: request.max_tokens,
        }
        if catalog.model_info(self.name, model).temperature:
            params["temperature"] = request.temperature
        return params

    def stream(self, request: ChatRequest) -> Iterator[Delta | Usage]:
        params = self.params(request)
        client = self.client  # made (SDK imported) before the deadline starts
        chunks = net.stream(lambda: client.chat.completions.create(**params), vendor=self.vendor, policy=self.policy)
        yield from read_chunks(chunks, params["messages"], self.label)

    def list_model_ids(self) -> list[str]:
        policy = replace(self.policy, deadline=min(self.policy.deadline, 10.0), retries=min(self.policy.retries, 1))
        page = net.call(lambda: self.client.models.list(), vendor=self.vendor, policy=policy)
        return sorted(model.id for model in page.data if self.is_chat_model(model.id))

    @staticmethod
    def is_chat_model(model_id: str) -> bool:
        chat = model_id.startswith(("gpt-", "o1", "o3", "o4", "chatgpt-"))
        return chat and not any(word in model_id for word in _NOT_CHAT)


@register_llm
class OpenAICompatibleLLM(OpenAILLM):
    """A local or self-hosted server speaking OpenAI's API; its base URL is set on the Settings page."""

    name = "openai_compatible"
    label = "OpenAI-compatible server"
    default_model = catalog.default_model("openai_compatible")
    limit_param = "max_tokens"

    @staticmethod
    def is_chat_model(model_id: str) -> bool:
        return "embed" not in model_id.lower()
