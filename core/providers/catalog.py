"""The model registry (models.toml), merged with the vendors' live model lists; cost; context fitting."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable

from core.errors import NotFound, ProviderError

log = logging.getLogger(__name__)

MODELS_FILE = Path(__file__).resolve().parent / "models.toml"
LIVE_TTL = 3600.0  # a vendor's model list is fetched at most once an hour
FAILED_TTL = 120.0  # after a failed fetch (offline, bad key), wait before trying again


@dataclass(frozen=True)
class ModelInfo:
    provider: str
    model: str
    context_window: int
    input_price: float | None  # USD per 1M input tokens; None when unknown
    output_price: float | None
    streaming: bool = True
    description: str = ""
    kind: str = "chat"  # chat / embedding
    dim: int | None = None
    temperature: bool = True  # False: the model only accepts its default temperature
    known: bool = True  # described in models.toml
    live: bool = False  # listed by the vendor just now

    @property
    def price_label(self) -> str:
        if self.input_price is None or self.output_price is None:
            return "price unknown"
        if self.input_price == 0 and self.output_price == 0:
            return "free"
        return f"${self.input_price:g} in / ${self.output_price:g} out per 1M tokens"

    @property
    def summary(self) -> str:
        """One line for pickers: context window and price."""
        return f"{self.context_window:,} tokens context · {self.price_label}"


@dataclass(frozen=True)
class Registry:
    providers: dict[str, dict]
    models: dict[tuple[str, str], ModelInfo]
    default_context: int


@lru_cache(maxsize=1)
def registry() -> Registry:
    data = tomllib.loads(MODELS_FILE.read_text())
    models = {}
    for entry in data.get("model", []):
        info = ModelInfo(
            provider=entry["provider"],
            model=entry["id"],
            context_window=int(entry["context_window"]),
            input_price=entry.get("input_price"),
            output_price=entry.get("output_price"),
            streaming=bool(entry.get("streaming", True)),
            description=entry.get("description", ""),
            kind=entry.get("kind", "chat"),
            dim=entry.get("dim"),
            temperature=bool(entry.get("temperature", True)),
        )
        models[(info.provider, info.model)] = info
    return Registry(data.get("providers", {}), models, int(data.get("defaults", {}).get("context_window", 8192)))


def providers() -> list[str]:
    return list(registry().providers)


def provider_label(provider: str) -> str:
    return registry().providers.get(provider, {}).get("label", provider)


def default_model(provider: str, kind: str = "chat") -> str:
    entry = registry().providers.get(provider, {})
    return entry.get("default_embedding" if kind == "embedding" else "default_model", "")


def _unknown(provider: str, model: str, live: bool = False) -> ModelInfo:
    entry = registry().providers.get(provider)
    if entry is None:
        raise NotFound(f"There is no provider called '{provider}' in the model registry; choose one of {', '.join(providers())}.")
    free = bool(entry.get("free"))
    return ModelInfo(
        provider=provider,
        model=model,
        context_window=int(entry.get("context_window", registry().default_context)),
        input_price=0.0 if free else None,
        output_price=0.0 if free else None,
        description=f"Listed by {provider_label(provider)}; not described in the studio's registry." if live
        else "Not in the studio's registry; context window assumed.",
        temperature=bool(entry.get("temperature", True)),
        known=False,
        live=live,
    )


def model_info(provider: str, model: str) -> ModelInfo:
    """What the registry knows about a model; an unknown model of a known provider gets safe defaults."""
    found = registry().models.get((provider, model))
    return found if found is not None else _unknown(provider, model or default_model(provider))


def models(provider: str, kind: str = "chat") -> list[ModelInfo]:
    """The registry's models of a provider (no network)."""
    return [info for (name, _), info in registry().models.items() if name == provider and info.kind == kind]


def cost_usd(provider: str, model: str, input_tokens: int, output_tokens: int) -> float:
    """Dollars for one call; 0.0 when the price is unknown or the model is free."""
    info = model_info(provider, model)
    if info.input_price is None or info.output_price is None:
        return 0.0
    return round((input_tokens * info.input_price + output_tokens * info.output_price) / 1_000_000, 8)


# -- live model lists -------------------------------------------------------------------------

_LIVE: dict[tuple, tuple[float, list[str]]] = {}
_LIVE_LOCK = threading.Lock()


def _cache_key(llm) -> tuple:
    key = llm.api_key() if hasattr(llm, "api_key") else ""
    return (llm.name, llm.base_url() if hasattr(llm, "base_url") else "", hashlib.sha256(key.encode()).hexdigest()[:16])


def live_model_ids(runtime, provider: str, *, clock: Callable[[], float] = time.monotonic) -> list[str] | None:
    """The vendor's own list (cached an hour), or None when it cannot list or cannot be reached."""
    from core.providers.remote import llm_for

    llm = llm_for(runtime, provider)
    if not getattr(llm, "can_list_models", False):
        return None
    try:
        key = _cache_key(llm)
    except ProviderError as error:  # no key: nothing to ask the vendor with
        log.info("not listing %s models live: %s", provider, error)
        return None
    with _LIVE_LOCK:
        cached = _LIVE.get(key)
        if cached and cached[0] > clock():
            return cached[1] or None
    try:
        ids = llm.list_model_ids()
    except ProviderError as error:
        log.info("could not list %s models live (%s); using the registry file", provider, error)
        ids, ttl = [], FAILED_TTL
    else:
        ttl = LIVE_TTL
    with _LIVE_LOCK:
        _LIVE[key] = (clock() + ttl, ids)
    return ids or None


def clear_live_cache() -> None:
    with _LIVE_LOCK:
        _LIVE.clear()


def list_models(runtime, provider: str, *, live: bool = True) -> list[ModelInfo]:
    """The registry's chat models, merged with the vendor's live list when it can be fetched.

    Models the vendor lists are marked live; live-only models get the provider's defaults."""
    known = models(provider) or ([_unknown(provider, default_model(provider))] if default_model(provider) else [])
    ids = live_model_ids(runtime, provider) if live else None
    if not ids:
        return known
    listed = set(ids)
    merged = [replace(info, live=info.model in listed) for info in known if info.known or info.model in listed]
    have = {info.model for info in known}
    merged += [_unknown(provider, model, live=True) for model in sorted(listed - have)]
    return merged
