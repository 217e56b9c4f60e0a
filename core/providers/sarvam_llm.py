"""Sarvam's chat completions through the sarvamai SDK, streamed (OpenAI-shaped chunks)."""
from __future__ import annotations

from functools import cached_property
from typing import Iterator

import httpx

from core.providers import catalog, net
from core.providers.base import ChatRequest, Delta, Usage
from core.providers.openai_llm import read_chunks
from core.providers.registry import register_llm
from core.providers.remote import RemoteLLM


def sarvam_environment(url: str | None):
    """The SDK's environment for a base URL (SARVAM_BASE_URL or Settings), else production."""
    from sarvamai.environment import SarvamAIEnvironment

    if not url:
        return SarvamAIEnvironment.PRODUCTION
    url = url.rstrip("/")
    return SarvamAIEnvironment(base=url, creative=f"{url}/dubbing", production=url.replace("http", "ws", 1))


@register_llm
class SarvamLLM(RemoteLLM):
    name = "sarvam"
    label = "Sarvam"
    default_model = catalog.default_model("sarvam")

    @cached_property
    def client(self):
        from sarvamai import SarvamAI

        return SarvamAI(
            api_subscription_key=self.api_key(),
            environment=sarvam_environment(self.base_url()),
            httpx_client=httpx.Client(timeout=net.httpx_timeout(self.policy), follow_redirects=True),
        )

    def params(self, request: ChatRequest) -> dict:
        return {
            "model": request.model or self.default_model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "stream": True,
            "request_options": net.fern_options(self.policy),
        }

    def stream(self, request: ChatRequest) -> Iterator[Delta | Usage]:
        params = self.params(request)
        client = self.client  # made (SDK imported) before the deadline starts
        chunks = net.stream(lambda: client.chat.completions(**params), vendor=self.vendor, policy=self.policy)
        yield from read_chunks(chunks, params["messages"], self.label)
