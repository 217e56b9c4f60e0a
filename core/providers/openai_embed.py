"""OpenAI embeddings (text-embedding-3-small) as an alternative to the offline MiniLM embedder.

text-embedding-3 models can return shortened vectors (`dimensions`); the studio asks for the
chunk store's width (384), so OpenAI and MiniLM knowledge bases share one LanceDB table. The
two kinds of vectors are not comparable: switching a clone's embedder re-indexes it
(core.knowledge.reindex).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from core.errors import ProviderError
from core.models import UsageEvent
from core.providers import catalog, net
from core.providers.registry import register_embedder
from core.providers.remote import RemoteEmbedder

BATCH = 128  # inputs per request (the API takes up to 2048, and ~300k tokens)
STORE_DIM = 384


@register_embedder
class OpenAIEmbedder(RemoteEmbedder):
    name = "openai"
    label = "OpenAI embeddings"
    model_id = "text-embedding-3-small"
    dim = STORE_DIM

    def client(self):
        """A client per call: the shared instance from get_embedder must follow key or URL changes."""
        from openai import OpenAI

        url = self.base_url()
        return OpenAI(api_key=self.api_key(), **({"base_url": url} if url else {}), **net.sdk_options(self.policy))

    def _batch(self, client, texts: list[str]) -> tuple[np.ndarray, int]:
        response = net.call(
            lambda: client.embeddings.create(model=self.model_id, input=texts, dimensions=self.dim, encoding_format="float"),
            vendor=self.vendor,
            policy=self.policy,
        )
        rows = sorted(response.data, key=lambda item: item.index)
        vectors = np.asarray([row.embedding for row in rows], dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise ProviderError(
                f"OpenAI returned embeddings of shape {vectors.shape} for {len(texts)} texts; try again, or keep the offline embedder."
            )
        return vectors, int(getattr(response.usage, "prompt_tokens", 0) or 0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        client = self.client()
        parts, tokens = [], 0
        for start in range(0, len(texts), BATCH):
            batch = [text if text.strip() else " " for text in texts[start : start + BATCH]]
            vectors, used = self._batch(client, batch)
            parts.append(vectors)
            tokens += used
        out = np.concatenate(parts)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        self._meter(tokens)
        return out

    def _meter(self, tokens: int) -> None:
        """Embedding tokens count as usage (with their cost) when a runtime is bound."""
        if self.runtime is None or not tokens:
            return
        cost = catalog.cost_usd("openai", self.model_id, tokens, 0)
        with self.runtime.session() as session:
            session.add(UsageEvent(provider=self.name, kind="embed_tokens", amount=tokens, cost_usd=cost))
            session.commit()
