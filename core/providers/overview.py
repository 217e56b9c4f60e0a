"""Every provider at a glance (capabilities, key status, models) and a plain connection test.

Used by `python -m core providers list` and the Settings page. Keys are never part of it:
only where a key comes from, and on the page its masked last four characters.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace

from core.errors import StudioError
from core.keys import PROVIDERS, key_status
from core.providers import catalog
from core.providers.base import ChatRequest, Usage
from core.providers.registry import llm_names

log = logging.getLogger(__name__)

SOURCES = {"settings": "saved on the Settings page", "environment": "from the environment", "secrets": "from secrets.toml"}


@dataclass
class ProviderSummary:
    name: str
    label: str
    capabilities: list[str]
    offline: bool
    key_required: bool
    key_source: str | None
    key_problem: str | None = None
    masked: str | None = None
    models: list[catalog.ModelInfo] = field(default_factory=list)
    embedding_models: list[catalog.ModelInfo] = field(default_factory=list)

    @property
    def key_configured(self) -> bool:
        return self.key_source is not None

    @property
    def ready(self) -> bool:
        return self.offline or self.key_configured or not self.key_required

    def as_json(self) -> dict:
        """The CLI's shape: never the key, not even masked."""
        data = asdict(self)
        data.pop("masked")
        data["key_configured"] = self.key_configured
        for name in ("models", "embedding_models"):
            data[name] = [
                {"id": info.model, **{k: v for k, v in asdict(info).items() if k not in ("provider", "model")}}
                for info in getattr(self, name)
            ]
        return data


def _speech_names() -> tuple[list[str], list[str]]:
    from core.providers.speech import stt_names, tts_names

    return tts_names(), stt_names()


def provider_names() -> list[str]:
    tts, stt = _speech_names()
    names = ["offline", *llm_names(), *PROVIDERS, "minilm", *tts, *stt]
    return list(dict.fromkeys(names))


def _capabilities(name: str) -> list[str]:
    tts, stt = _speech_names()
    found = []
    if name in llm_names():
        found.append("chat")
    if catalog.models(name, "embedding"):
        found.append("embeddings")
    if name in tts:
        found.append("tts")
    if name in stt:
        found.append("stt")
    return found


def summary(runtime, name: str, *, live: bool = True) -> ProviderSummary:
    keyed = name in PROVIDERS
    status = key_status(runtime, name) if keyed else None
    can_ask = bool(status and (status.source or not PROVIDERS[name].required))
    chat = catalog.list_models(runtime, name, live=live and can_ask) if name in llm_names() else []
    return ProviderSummary(
        name=name,
        label=catalog.provider_label(name) if name in catalog.providers() else (status.label if status else name),
        capabilities=_capabilities(name),
        offline=not keyed,
        key_required=keyed and PROVIDERS[name].required,
        key_source=status.source if status else None,
        key_problem=status.problem if status else None,
        masked=status.masked if status else None,
        models=chat,
        embedding_models=catalog.models(name, "embedding"),
    )


def overview(runtime, *, live: bool = True) -> list[ProviderSummary]:
    return [summary(runtime, name, live=live) for name in provider_names()]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str


def _ping_chat(runtime, name: str) -> str:
    """A one-token answer: the cheapest proof that the key and the model work."""
    from core.providers.remote import llm_for

    llm = llm_for(runtime, name)
    llm.policy = replace(llm.policy, deadline=min(llm.policy.deadline, 20.0), retries=0)
    request = ChatRequest(messages=[{"role": "user", "content": "Reply with the word ok."}], model=llm.default_model, max_tokens=1)
    usage = [event for event in llm.stream(request) if isinstance(event, Usage)]
    return f"{catalog.provider_label(name)} answered with {llm.default_model}" + (" and reported its token usage." if usage else ".")


def _list_voices(runtime, name: str) -> str:
    from core.providers.speech import get_tts

    voices = get_tts(name, runtime).list_voices()
    return f"{PROVIDERS[name].label} accepted the key and offers {len(voices)} voices."


def test_connection(runtime, name: str) -> Verdict:
    """Try the provider with the key the studio would use, and say plainly what happened."""
    try:
        if name in llm_names() and name not in PROVIDERS:
            return Verdict(True, f"{catalog.provider_label(name)} runs on this machine; there is nothing to connect to.")
        if name in llm_names():
            from core.providers.remote import llm_for

            llm = llm_for(runtime, name)
            if getattr(llm, "can_list_models", False):
                ids = llm.list_model_ids()
                return Verdict(True, f"Connected: {catalog.provider_label(name)} accepted the key and lists {len(ids)} chat models.")
            return Verdict(True, f"Connected: {_ping_chat(runtime, name)}")
        if name in PROVIDERS:
            return Verdict(True, f"Connected: {_list_voices(runtime, name)}")
        return Verdict(True, f"{name} runs on this machine; there is nothing to connect to.")
    except StudioError as error:
        log.info("connection test for %s failed: %s", name, error)
        return Verdict(False, str(error))
