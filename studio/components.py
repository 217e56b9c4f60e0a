"""Reusable pieces of the studio's pages. Everything a user or a model wrote is shown as
escaped Markdown or plain text: never raw HTML."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

import pandas as pd
import streamlit as st

from core.errors import StudioError
from core.knowledge.rerank import CANDIDATES
from core.models import Document, Message
from core.providers.registry import get_llm
from studio.text import escape_md, fmt_ago, fmt_ms, fmt_size, model_markdown, plural, prompt_versions_label

STATUS = {
    "processing": ("Processing", "orange", ":material/progress_activity:"),
    "ready": ("Ready", "green", ":material/check_circle:"),
    "failed": ("Failed", "red", ":material/error:"),
}


@lru_cache(maxsize=None)
def is_offline(provider: str) -> bool:
    """Whether answers from this provider are the offline, extractive kind (unknown names: no)."""
    try:
        return bool(get_llm(provider).offline)
    except StudioError:
        return False


def offline_badge() -> None:
    st.badge(
        "Offline mode", icon=":material/cloud_off:", color="gray",
        help="Answers quote the best passages from this clone's documents; no model or network is used.",
    )


PAGE_SETTINGS = "app_pages/settings.py"


def offline_prompts_note(clone, compact: bool = False) -> None:
    """Why, offline, prompt versions give identical answers; what still changes them; how to connect a model."""
    if not is_offline(clone.llm_provider):
        return
    if compact:
        st.caption(":material/cloud_off: Offline, both variants quote the same passages word for word unless their "
                   "retrieval settings differ (open *Retrieval settings* under a variant). Connect a model on "
                   "Settings to compare how prompts change the wording.")
        return
    with st.container(border=True):
        st.markdown(":material/cloud_off: **Offline mode: prompt versions make no visible difference here.**")
        st.caption(
            "The offline model answers by quoting passages from this clone's documents: it ignores style "
            "instructions in the system and user layers, and the RAG layer's wording does not change what it "
            "quotes. What still changes its answers is retrieval: sources per answer (top k), hybrid search "
            "and minimum relevance, which each variant can change in the playground and A/B runs. To hear your "
            "prompts at work, connect a model: add a key on Settings, or point the studio at an "
            "OpenAI-compatible server on this machine, such as Ollama or llama.cpp's server."
        )
        st.page_link(PAGE_SETTINGS, label="Connect a model in Settings", icon=":material/settings:")


def status_badge(status: str) -> None:
    label, color, icon = STATUS.get(status, (status.title(), "gray", None))
    st.badge(label, color=color, icon=icon)


def clone_header(clone, subtitle: str, offline: bool = False, controls=None) -> None:
    """Page title for a page about one clone: avatar, name, a line of context (plain text);
    `controls()` draws extra widgets on that line (Chat: the model and voice picker)."""
    st.title(f"{escape_md(clone.avatar)} {escape_md(clone.name)}", anchor=False)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(escape_md(subtitle), width="content")
        if offline:
            offline_badge()
        if controls is not None:
            controls()


def card_stats(documents: int, chats: int, last_used) -> str:
    return " · ".join(
        (plural(documents, "document"), plural(chats, "chat"), f"last used {fmt_ago(last_used)}")
    )


def clone_title(clone) -> None:
    st.subheader(f"{escape_md(clone.avatar)} {escape_md(clone.name)}", anchor=False)


def clone_card_body(clone, documents: int, chats: int, last_used) -> None:
    """A gallery card under its title: specialty, description, category and tags, counts. Buttons are the page's."""
    if clone.specialty:
        st.caption(f":material/workspace_premium: {escape_md(clone.specialty)}")
    st.markdown(escape_md(_shorten(clone.description, 220)) if clone.description else "*No description yet.*")
    if badges := classification_badges(clone):
        st.markdown(badges)
    st.caption(card_stats(documents, chats, last_used))


def classification_badges(clone, max_tags: int = 4) -> str:
    """The category (blue) and tags (gray) as one line of Markdown badges; more tags than `max_tags` as "+N"."""
    tags = list(clone.tags or [])
    badges = [f":blue-badge[:material/category: {escape_md(clone.category)}]"] if clone.category else []
    badges += [f":gray-badge[{escape_md(tag)}]" for tag in tags[:max_tags]]
    if len(tags) > max_tags:
        badges.append(f":gray-badge[+{len(tags) - max_tags}]")
    return " ".join(badges)


def message_bubble(message: Message, avatar: str | None = None, show_error: bool | None = True) -> None:
    """One chat message: the text, then for answers the citations, inspector and caption.
    show_error: True shows a failure in full, False as a quiet line, None not at all (the caller does)."""
    with st.chat_message(message.role, avatar=avatar if message.role == "assistant" else None):
        if message.content:
            st.markdown(
                model_markdown(message.content) if message.role == "assistant" else escape_md(message.content)
            )
        if message.role != "assistant":
            return
        if message.status == "partial" and show_error:
            st.warning(_cut_off(message), icon=":material/warning:")
        if message.status == "interrupted":
            st.caption("Interrupted: the answer stopped when you spoke over it.")
        if message.status == "error" and show_error:
            st.error(escape_md(message.error or "The answer failed; ask again."), icon=":material/error:")
        elif message.status in ("error", "partial") and show_error is False and not message.content:
            st.caption("This answer failed.")  # an old failure: no red box lingering in the thread
        answer_details(message.citations or [], message)


def _cut_off(message: Message) -> str:
    reason = f" ({escape_md(message.error)})" if message.error else ""
    return f"The answer was cut off before it finished{reason}; ask again to get all of it."


def answer_details(citations: list[dict], message: Message | None) -> None:
    cited = [c for c in citations if c.get("cited")]
    if cited:
        citation_cards(cited)
    if citations:
        retrieval_inspector(citations)
    if message is not None:
        timings_caption(message)


def citation_cards(citations: Iterable[dict]) -> None:
    """Where the answer came from: document, page and the quoted passage, one card each."""
    citations = list(citations)
    columns = st.columns(min(len(citations), 3))
    for i, citation in enumerate(citations):
        with columns[i % len(columns)]:
            citation_card(citation)


def citation_card(citation: dict) -> None:
    with st.container(border=True):
        where = f"[{citation.get('n', '?')}] :material/description: **{escape_md(citation.get('document', ''))}**"
        if citation.get("page"):
            where += f" · page {citation['page']}"
        if citation.get("heading"):
            where += f" · {escape_md(citation['heading'])}"
        st.markdown(where)
        st.caption(escape_md(_shorten(citation.get("text", ""), 320)))


_HEADING_LINE = re.compile(r"^\s*#{1,6}\s+.*$", re.MULTILINE)
_HEADING_MARKS = re.compile(r"(^|\n)\s*#{1,6}\s+")


def passage(text: str) -> str:
    """A retrieved chunk on one line, without its Markdown heading lines (cards show the heading
    apart); a chunk that is only headings keeps their words."""
    body = " ".join(_HEADING_LINE.sub("", text or "").split())
    return body or " ".join(_HEADING_MARKS.sub(r"\1", text or "").split())


def _shorten(text: str, limit: int) -> str:
    text = passage(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def passage_row(source) -> None:
    """One search result: its score, document, page and first words; it expands to the whole passage."""
    where = source.document + (f" · page {source.page}" if source.page else "")
    label = f"{source.score:.2f} · {where} — {_shorten(source.text, 90)}"
    with st.expander(escape_md(label), icon=":material/description:"):
        if source.heading:
            st.caption(escape_md(source.heading))
        body = _HEADING_LINE.sub("", source.text or "")
        paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", body) if part.strip()]
        st.markdown("\n\n".join(escape_md(part) for part in paragraphs) or escape_md(passage(source.text)))


def retrieval_inspector(citations: list[dict], expanded: bool = False) -> None:
    """Every retrieved chunk with its score and whether the answer cited it."""
    cited = sum(1 for c in citations if c.get("cited"))
    label = f"Inspector · {plural(len(citations), 'chunk')} retrieved, {cited} cited"
    with st.expander(label, icon=":material/manage_search:", expanded=expanded):
        sources_table(citations, show_cited=True, show_ranks=True)


def _ranks(sources: list[dict]) -> dict:
    """Why each passage won: its rank in each search leg, the fused score and the rerank score."""
    return {
        "Vector #": pd.array([s.get("vector_rank") for s in sources], dtype="Int64"),
        "Text #": pd.array([s.get("text_rank") for s in sources], dtype="Int64"),
        "Fused": [float(s.get("fused") or 0.0) for s in sources],
        "Rerank": [float(s.get("rerank") or 0.0) for s in sources],
    }


def sources_table(sources: list[dict], show_cited: bool = False, show_ranks: bool = False) -> None:
    """Retrieved chunks as a table (text cells are never interpreted as Markdown or HTML)."""
    frame = pd.DataFrame(
        {
            "#": [s.get("n") for s in sources],
            "Document": [s.get("document", "") for s in sources],
            "Page": pd.array([s.get("page") for s in sources], dtype="Int64"),
            "Score": [float(s.get("score") or 0.0) for s in sources],
            **({"Cited": [bool(s.get("cited")) for s in sources]} if show_cited else {}),
            **(_ranks(sources) if show_ranks else {}),
            "Passage": [passage(s.get("text", "")) for s in sources],
        }
    )
    st.dataframe(
        frame, hide_index=True, width="stretch", placeholder="–",
        column_config={
            "#": st.column_config.NumberColumn(width="small"),
            "Page": st.column_config.NumberColumn(width="small"),
            "Score": st.column_config.ProgressColumn(
                format="%.3f", min_value=0.0, max_value=1.0, width="small",
                help="Relevance to the question (0 to 1). Rows are in retrieval order: meaning and keywords combined.",
            ),
            "Cited": st.column_config.CheckboxColumn(width="small"),
            "Vector #": st.column_config.NumberColumn(width="small", help=f"Rank by meaning (vector search); – when not in its top {CANDIDATES}."),
            "Text #": st.column_config.NumberColumn(width="small", help=f"Rank by keywords (BM25 full text); – when not in its top {CANDIDATES}."),
            "Fused": st.column_config.NumberColumn(format="%.4f", width="small", help="Both ranks combined (reciprocal rank fusion)."),
            "Rerank": st.column_config.NumberColumn(
                format="%.3f", width="small",
                help="The final score that set the order: meaning, keywords, the document and section the question names."),
            "Passage": st.column_config.TextColumn(width="large"),
        },
    )


def timings_caption(message: Message) -> None:
    """A human line under an answer ("offline · 38 ms"); the technical facts behind "details"."""
    timings = message.timings or {}
    facts = {
        "Found passages in": fmt_ms(timings.get("retrieval")),
        "First words after": fmt_ms(timings.get("first_token")),
        "Tokens": f"{message.input_tokens:,} in → {message.output_tokens:,} out"
        if message.input_tokens or message.output_tokens else "",
        "Prompt versions": prompt_versions_label(message.prompt_versions),
    }
    if "first_audio" in timings:  # a voice turn: how long the person spoke, then end of speech -> transcript / voice
        facts = {"You spoke for": fmt_ms(timings.get("speech")), "Transcript after": fmt_ms(timings.get("stt")),
                 "First audio after": fmt_ms(timings.get("first_audio")), **facts}
    answer_meta(message.provider, message.model, timings.get("total"), message.cost_usd, facts)


def answer_meta(provider: str | None, model: str | None, total_ms: float | None, cost: float | None,
                facts: dict[str, str]) -> None:
    """One discreet line: who answered and how long it took; cost only when there was one. The rest
    (model, timings, tokens, prompt versions) sits behind a small "details" toggle."""
    offline = is_offline(provider or "offline")
    who = "offline" if offline else (model or catalog_label(provider))
    line = [who, fmt_ms(total_ms)] + ([f"${cost:.4f}"] if cost else [])
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(escape_md(" · ".join(part for part in line if part and part != "–")), width="content")
        with st.popover("details", type="tertiary"):
            rows = {"Model": f"{catalog_label(provider)} · {model}" if model else catalog_label(provider), **facts}
            if cost:
                rows["Cost"] = f"${cost:.4f}"
            for name, value in rows.items():
                if value and value != "–":
                    st.caption(f"**{escape_md(name)}**: {escape_md(value)}")


def catalog_label(provider: str | None) -> str:
    from core.providers import catalog

    try:
        return catalog.provider_label(provider or "offline")
    except Exception:  # an unknown or removed provider keeps its plain name
        return provider or "offline"


def document_row(document: Document):
    """Name, status badge and counts of one knowledge document; returns the column for actions."""
    info, status, actions = st.columns([6, 2, 2], vertical_alignment="center")
    info.markdown(f"{_KIND_ICONS.get(document.kind, ':material/draft:')} **{escape_md(document.filename)}**")
    facts = [fmt_size(document.size), f"added {fmt_ago(document.created_at)}"]
    if document.status == "ready":
        counts = [plural(document.chunk_count, "chunk")] + ([plural(document.pages, "page")] if document.pages else [])
        facts[:0] = counts
    info.caption(" · ".join(facts))
    if document.status == "failed" and document.error:
        info.caption(f":red[{escape_md(document.error)}]")
    with status:
        status_badge(document.status)
    return actions


def knowledge_summary(documents: list[Document]) -> str:
    ready = [d for d in documents if d.status == "ready"]
    parts = [plural(len(documents), "document"), f"{len(ready)} ready", plural(sum(d.chunk_count for d in ready), "chunk")]
    if processing := sum(1 for d in documents if d.status == "processing"):
        parts.append(f"{processing} processing")
    if failed := sum(1 for d in documents if d.status == "failed"):
        parts.append(f"{failed} failed")
    return " · ".join(parts)


_KIND_ICONS = {
    "pdf": ":material/picture_as_pdf:",
    "text": ":material/article:",
    "markdown": ":material/markdown:",
}


def confirm_delete(label: str, action, done: str | None = None, icon: str = ":material/delete:") -> None:
    """The Delete / Cancel pair of a confirmation dialog: runs `action` on confirm, flashes the
    outcome (or its error), closes the dialog."""
    from studio import state

    confirm, cancel = st.columns(2)
    if confirm.button(label, type="primary", icon=icon, width="stretch"):
        try:
            action()
            if done:
                state.flash(done)
        except StudioError as error:
            state.flash(str(error), "error")
        state.close_dialog()
        st.rerun()
    if cancel.button("Cancel", width="stretch"):
        state.close_dialog()
        st.rerun()
