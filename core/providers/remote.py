"""What every cloud language model and embedder shares: its key, base URL and network policy.

`get_llm(name)` makes an adapter without a runtime (keys then come from the environment or
secrets.toml); `llm_for(runtime, name)` / `embedder_for(runtime, name)` bind the runtime so
keys and base URLs saved on the Settings page are used too.
"""
from __future__ import annotations

from typing import ClassVar, Iterable

from core.keys import PROVIDERS, require_key, resolve_key
from core.preferences import base_url as preferred_base_url
from core.providers import net
from core.providers.base import LLM, Embedder, Usage
from core.providers.registry import get_embedder, get_llm

STOP_REASONS = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "max_tokens": "length",
    "content_filter": "content_filter",
    "refusal": "refusal",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
}


def stop_reason(raw: str | None) -> str:
    """One vocabulary for every vendor: stop / length / content_filter / refusal / tool_calls."""
    return STOP_REASONS.get(raw or "", raw or "stop")


def estimate_tokens(texts: Iterable[str]) -> int:
    """Token count for vendors that do not report usage (the offline tokenizer, plus framing)."""
    from core.tokens import count_tokens

    return sum(count_tokens(text) + 4 for text in texts)


class Remote:
    """Mixin: a runtime (optional), an explicit key / base URL / policy (tests, CLI overrides)."""

    name: ClassVar[str]
    key_name: ClassVar[str] = ""  # the core.keys provider; defaults to `name`
    can_list_models: ClassVar[bool] = False  # the vendor has a models endpoint

    def __init__(self, runtime=None, *, api_key: str | None = None, base_url: str | None = None, policy: net.Policy | None = None):
        self.runtime = runtime
        self._api_key = api_key
        self._base_url = base_url
        self.policy = policy or net.Policy.from_settings()

    @property
    def vendor(self) -> str:
        return self.key_name or self.name

    def api_key(self) -> str:
        if self._api_key:
            return self._api_key
        if PROVIDERS[self.vendor].required:
            return require_key(self.runtime, self.vendor)
        return resolve_key(self.runtime, self.vendor) or "no-key-needed"

    def base_url(self) -> str | None:
        return self._base_url or preferred_base_url(self.runtime, self.vendor)

    def list_model_ids(self) -> list[str]:
        """Model ids the vendor lists right now (adapters that can list override this)."""
        return []


class RemoteLLM(Remote, LLM):
    pass


class RemoteEmbedder(Remote, Embedder):
    pass


def llm_for(runtime, name: str, **options) -> LLM:
    """The named LLM, bound to `runtime` when it is a cloud adapter (keys and base URLs from Settings)."""
    llm = get_llm(name)
    if isinstance(llm, Remote):
        return type(llm)(runtime, **options)
    return llm


def embedder_for(runtime, name: str, **options) -> Embedder:
    """The named embedder; cloud ones are made per runtime, local ones stay shared (weights load once)."""
    embedder = get_embedder(name)
    if isinstance(embedder, Remote):
        return type(embedder)(runtime, **options)
    return embedder


def usage_or_estimate(usage: Usage | None, messages: list[dict], text: str, reason: str | None) -> Usage:
    if usage is not None and (usage.input_tokens or usage.output_tokens):
        return Usage(usage.input_tokens, usage.output_tokens, stop_reason(reason))
    return Usage(estimate_tokens(m.get("content") or "" for m in messages), estimate_tokens([text]) if text else 0, stop_reason(reason))
