"""The provider contracts. One streaming method per capability, a few capability flags.

An LLM streams `Delta` events (text) and ends with one `Usage` event. Errors raise
subclasses of `core.errors.ProviderError` with a plain sentence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator, Sequence

import numpy as np


@dataclass(frozen=True)
class Source:
    """One retrieved passage, numbered as the prompt shows it: [n]."""

    n: int
    document: str
    page: int | None
    text: str
    score: float
    chunk_id: str = ""
    document_id: str = ""
    heading: str = ""
    title: str = ""  # the document's title (from its own header), for context
    vector_rank: int | None = None  # why it won (retrieval inspector): rank in the vector leg,
    text_rank: int | None = None  # rank in the full-text leg, the fused (RRF) score
    fused: float = 0.0
    rerank: float = 0.0  # and the rerank score that set the final order
    named: float = 0.0  # the part of `rerank` that comes from the question naming this passage's document


@dataclass
class ChatRequest:
    messages: list[dict]  # [{"role": "system"|"user"|"assistant", "content": str}]
    model: str
    question: str = ""
    sources: Sequence[Source] = ()
    temperature: float = 0.3
    max_tokens: int = 700


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str = "stop"


class LLM:
    name: ClassVar[str]
    label: ClassVar[str]
    offline: ClassVar[bool] = False
    default_model: ClassVar[str] = ""

    def stream(self, request: ChatRequest) -> Iterator[Delta | Usage]:
        raise NotImplementedError


class Embedder:
    name: ClassVar[str]
    model_id: ClassVar[str]
    dim: ClassVar[int]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
