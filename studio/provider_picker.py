"""Reusable provider widgets: model picker (with context window and price), generation,
retrieval and speech settings for a clone, the embedder switch with re-index, and the
"answer offline instead" offer after a provider failure.

Each function draws widgets and returns plain values; saving stays with the caller (one
core call per action). Pass a `key` prefix that is unique on the page.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from core.errors import StudioError
from core.keys import PROVIDERS
from core.models import Clone, Message
from core.providers import catalog
from core.providers.overview import summary
from core.providers.registry import llm_names
from studio.text import escape_md, plural

CUSTOM = "__custom__"
OFFLINE = "offline"


def _provider_label(name: str, ready: bool) -> str:
    if name in catalog.providers():
        label = catalog.provider_label(name)
    else:
        label = PROVIDERS[name].label if name in PROVIDERS else name
    return label if ready else f"{label} (no key yet: add one in Settings)"


def _index(options: list[str], value: str | None) -> int:
    return options.index(value) if value in options else 0


def model_caption(provider: str, model: str) -> str:
    """'128,000 tokens context · $0.15 in / $0.6 out per 1M tokens — description'."""
    info = catalog.model_info(provider, model)
    return f"{info.summary} — {info.description}" if info.description else info.summary


def llm_picker(runtime, provider: str | None, model: str | None, *, key: str) -> tuple[str, str]:
    """Provider and model selectboxes; the model shows its context window and price.

    Models come from the registry merged with the vendor's live list (cached an hour) once a
    key is configured; any other model id can be typed in."""
    names = llm_names()
    summaries = {name: summary(runtime, name, live=False) for name in names}
    initial = provider
    provider = st.selectbox(
        "Model provider", names, index=_index(names, provider), key=f"{key}.provider",
        format_func=lambda name: _provider_label(name, summaries[name].ready),
    )
    chosen = summaries[provider]
    infos = catalog.list_models(runtime, provider, live=chosen.ready and not chosen.offline)
    ids = [info.model for info in infos]
    if provider != initial:
        model = None  # the saved model belongs to the other provider
    elif model and model not in ids:
        ids.append(model)
    options = ids + [CUSTOM]
    picked = st.selectbox(
        "Model", options, index=_index(options, model if model in ids else (ids[0] if ids else CUSTOM)),
        key=f"{key}.model.{provider}",
        format_func=lambda m: "Another model (type its id)" if m == CUSTOM else m,
    )
    if picked == CUSTOM:
        picked = st.text_input("Model id", value="" if model in ids else (model or ""), key=f"{key}.custom.{provider}",
                               placeholder="e.g. llama3.1:8b").strip()
    if picked:
        st.caption(escape_md(model_caption(provider, picked)))
    if not chosen.ready:
        st.warning(f"{_provider_label(provider, True)} needs an API key; add it on the Settings page.", icon=":material/key:")
    return provider, picked or catalog.default_model(provider)


def generation_settings(runtime, clone: Clone, *, key: str) -> dict:
    """LLM provider, model, temperature and answer length, as Clone fields."""
    provider, model = llm_picker(runtime, clone.llm_provider, clone.llm_model, key=f"{key}.llm")
    info = catalog.model_info(provider, model)
    temperature = st.slider(
        "Temperature", 0.0, 2.0 if provider != "anthropic" else 1.0, float(min(clone.temperature, 2.0)), 0.05,
        key=f"{key}.temperature", disabled=not info.temperature,
        help="Lower is steadier, higher is more varied." if info.temperature
        else "This model answers at its own fixed temperature.",
    )
    limit = max(64, min(32_000, info.context_window // 2))
    max_tokens = st.number_input(
        "Longest answer (tokens)", 16, limit, int(min(max(clone.max_tokens, 16), limit)), 50, key=f"{key}.max_tokens",
        help=f"Up to {limit:,} for this model; the rest of its {info.context_window:,}-token window holds sources and history.",
    )
    return {"llm_provider": provider, "llm_model": model, "temperature": float(temperature), "max_tokens": int(max_tokens)}


def retrieval_settings(clone: Clone, *, key: str) -> dict:
    top_k = st.slider("Sources per answer (top k)", 1, 20, int(min(max(clone.top_k, 1), 20)), key=f"{key}.top_k")
    hybrid = st.toggle("Hybrid search (meaning + exact words)", value=bool(clone.hybrid), key=f"{key}.hybrid")
    min_score = st.slider("Minimum relevance", 0.0, 1.0, float(clone.min_score), 0.05, key=f"{key}.min_score",
                          help="Passages scoring below this are not used.")
    return {"top_k": int(top_k), "hybrid": bool(hybrid), "min_score": float(min_score)}


def speech_settings(runtime, clone: Clone, *, key: str) -> dict:
    """Which providers speak and listen for this clone (voices and tuning live on the Voice page)."""
    from core.providers.speech import stt_classes, tts_classes

    def ready(name: str) -> bool:
        return name not in PROVIDERS or summary(runtime, name, live=False).ready

    tts = list(tts_classes())
    stt = list(stt_classes())
    tts_provider = st.selectbox("Text to speech", tts, index=_index(tts, clone.tts_provider), key=f"{key}.tts",
                                format_func=lambda name: _provider_label(name, ready(name)))
    stt_provider = st.selectbox("Speech to text", stt, index=_index(stt, clone.stt_provider), key=f"{key}.stt",
                                format_func=lambda name: _provider_label(name, ready(name)))
    fields = {"tts_provider": tts_provider, "stt_provider": stt_provider}
    if tts_provider != clone.tts_provider:
        fields["tts_voice"] = ""  # a voice id belongs to one provider
    return fields


def embedder_switch(runtime, clone: Clone, *, key: str) -> Clone | None:
    """Pick the embedder; switching shows what it takes, asks, then re-indexes with a progress bar.

    Returns the updated clone after a switch, else None."""
    from core.knowledge.reindex import reindex_plan, switch_embedder

    names = [name for name in catalog.providers() if catalog.models(name, "embedding")]
    ready = {name: summary(runtime, name, live=False).ready for name in names}
    current = clone.embedding_provider or "minilm"
    target = st.selectbox("Embeddings", names, index=_index(names, current), key=f"{key}.embedder",
                          format_func=lambda name: _provider_label(name, ready[name]))
    st.caption(escape_md(model_caption(target, catalog.default_model(target, "embedding"))))
    if target == current:
        return None
    plan = reindex_plan(runtime, clone.id, target)
    cost = f" (about ${plan.estimated_cost_usd:.4f})" if plan.estimated_cost_usd else ""
    what = f"re-embeds {plural(plan.chunks, 'passage')} from {plural(plan.documents, 'document')}{cost}" if plan.needed \
        else "has nothing to re-index yet"
    st.info(f"Switching to {catalog.provider_label(target)} {what}. Answers keep working on the old index until it finishes.",
            icon=":material/sync:")
    if not st.button(f"Switch and re-index with {catalog.provider_label(target)}", key=f"{key}.reindex", type="primary"):
        return None
    bar = st.progress(0.0, text="Re-indexing…")
    progress: Callable[[int, int], None] = lambda done, total: bar.progress(done / total if total else 1.0, text=f"Re-indexed {done:,} of {total:,} passages")  # noqa: E731
    try:
        updated = switch_embedder(runtime, clone.id, target, progress=progress)
    except StudioError as error:
        bar.empty()
        st.error(escape_md(str(error)), icon=":material/error:")
        return None
    bar.progress(1.0, text="Re-indexed.")
    return updated


def offline_fallback(message: Message | None, *, key: str) -> bool:
    """After an answer failed (or was cut short) at a cloud provider: the sentence, and a one-click
    offer to answer offline instead. True when clicked; the caller re-asks with provider="offline"."""
    if message is None or message.status not in ("error", "partial") or (message.provider or OFFLINE) == OFFLINE:
        return False
    if message.error:
        st.error(escape_md(message.error), icon=":material/cloud_off:")
    return st.button("Answer offline instead", key=key, icon=":material/offline_bolt:",
                     help="Ask the same question again with the offline model, which quotes this clone's documents.")


def clone_model_picker(runtime, clone: Clone, *, key: str) -> dict | None:
    """The clone's model and voice in a small menu (Chat's header). Returns the changed Clone fields
    when the user applies them, else None; the caller saves them."""
    from core import voices

    label = f"{catalog_label_short(clone.llm_provider)} · {clone.llm_model}"
    with st.popover(label, icon=":material/neurology:", help="The model and voice this clone answers with"):
        provider, model = llm_picker(runtime, clone.llm_provider, clone.llm_model, key=f"{key}.llm")
        pool = voices.gallery(runtime).voices
        current = voices.choose_voice(runtime, clone)
        names = {f"{v.provider}/{v.voice_id}": f"{v.name} ({voices.tts_label(v.provider)})" for v in pool}
        now = f"{current.tts.name}/{current.voice}"
        names.setdefault(now, f"{current.voice or 'default'} ({voices.tts_label(current.tts.name)})")
        picked = st.selectbox("Voice", list(names), index=list(names).index(now), key=f"{key}.voice",
                              format_func=names.__getitem__)
        st.caption("More voices, and tuning, on the Voice page.")
        fields = {"llm_provider": provider, "llm_model": model}
        if picked != now:
            tts_provider, tts_voice = picked.split("/", 1)
            fields |= {"tts_provider": tts_provider, "tts_voice": tts_voice}
        changed = {name: value for name, value in fields.items() if getattr(clone, name) != value}
        if st.button("Use for this clone", key=f"{key}.apply", type="primary", icon=":material/check:",
                     disabled=not changed, width="stretch"):
            return changed
    return None


def catalog_label_short(provider: str) -> str:
    """"Offline" rather than "Offline (on this machine)"; other providers by their name."""
    if provider == OFFLINE:
        return "Offline"
    return _provider_label(provider, True).split(" (")[0]
