"""Providers by name. Vendor modules register themselves with a decorator."""
from __future__ import annotations

import importlib
from functools import lru_cache

from core.errors import InvalidInput
from core.providers.base import LLM, Embedder

_LLMS: dict[str, type[LLM]] = {}
_EMBEDDERS: dict[str, type[Embedder]] = {}
_MODULES = (
    "core.providers.offline_llm",
    "core.providers.minilm",
    "core.providers.openai_llm",
    "core.providers.anthropic_llm",
    "core.providers.sarvam_llm",
    "core.providers.openai_embed",
)


def register_llm(cls: type[LLM]) -> type[LLM]:
    _LLMS[cls.name] = cls
    return cls


def register_embedder(cls: type[Embedder]) -> type[Embedder]:
    _EMBEDDERS[cls.name] = cls
    return cls


def _load_modules() -> None:
    for module in _MODULES:
        importlib.import_module(module)


def llm_names() -> list[str]:
    _load_modules()
    return sorted(_LLMS)


def get_llm(name: str) -> LLM:
    _load_modules()
    try:
        return _LLMS[name]()
    except KeyError:
        raise InvalidInput(f"There is no model provider called '{name}'; choose one of {', '.join(sorted(_LLMS))}.") from None


@lru_cache(maxsize=None)
def get_embedder(name: str = "minilm") -> Embedder:
    """Embedders load weights, so each is made once per process and shared (thread-safe)."""
    _load_modules()
    try:
        return _EMBEDDERS[name]()
    except KeyError:
        raise InvalidInput(f"There is no embedding provider called '{name}'.") from None
