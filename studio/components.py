"""Reusable pieces of the studio's pages. Everything a user or a model wrote is shown as
escaped Markdown or plain text: never raw HTML."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

import pandas as pd
import streamlit as st

from core.errors import StudioError
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


def status_badge(status: str) -> None:
    label, color, icon = STATUS.get(status, (status.title(), "gray", None))
    st.badge(label, color=color, icon=icon)


def clone_header(clone, subtitle: str, offline: bool = False) -> None:
    """Page title for a page about one clone: avatar, name, a line of context (plain text)."""
    st.title(f"{escape_md(clone.avatar)} {escape_md(clone.name)}", anchor=False)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(escape_md(subtitle), width="content")
        if offline:
            offline_badge()


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


def message_bubble(message: Message, avatar: str | None = None, show_error: bool = True) -> None:
    """One chat message: the text, then for answers the citations, inspector and caption."""
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


def retrieval_inspector(citations: list[dict], expanded: bool = False) -> None:
    """Every retrieved chunk with its score and whether the answer cited it."""
    cited = sum(1 for c in citations if c.get("cited"))
    label = f"Inspector · {plural(len(citations), 'chunk')} retrieved, {cited} cited"
    with st.expander(label, icon=":material/manage_search:", expanded=expanded):
        sources_table(citations, show_cited=True)


def sources_table(sources: list[dict], show_cited: bool = False) -> None:
    """Retrieved chunks as a table (text cells are never interpreted as Markdown or HTML)."""
    frame = pd.DataFrame(
        {
            "#": [s.get("n") for s in sources],
            "Document": [s.get("document", "") for s in sources],
            "Page": pd.array([s.get("page") for s in sources], dtype="Int64"),
            "Score": [float(s.get("score") or 0.0) for s in sources],
            **({"Cited": [bool(s.get("cited")) for s in sources]} if show_cited else {}),
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
            "Passage": st.column_config.TextColumn(width="large"),
        },
    )


def timings_caption(message: Message) -> None:
    """Discreet facts about an answer: timings, provider and model, tokens, prompt versions."""
    timings = message.timings or {}
    parts = [
        f"retrieval {fmt_ms(timings.get('retrieval'))}",
        f"first token {fmt_ms(timings.get('first_token'))}",
        f"total {fmt_ms(timings.get('total'))}",
    ]
    if "first_audio" in timings:  # a voice turn: how long the user spoke, then end of speech -> transcript / voice
        parts[:0] = [f"speech {fmt_ms(timings.get('speech'))}", f"transcript {fmt_ms(timings.get('stt'))}"]
        parts.insert(4, f"first audio {fmt_ms(timings.get('first_audio'))}")
    if message.provider:
        parts.append(f"{message.provider} · {message.model or ''}".rstrip(" ·"))
    if message.input_tokens or message.output_tokens:
        parts.append(f"{message.input_tokens} → {message.output_tokens} tokens")
    if message.cost_usd:
        parts.append(f"${message.cost_usd:.4f}")
    if label := prompt_versions_label(message.prompt_versions):
        parts.append(label)
    st.caption(escape_md(" · ".join(parts)))


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


def confirm_delete(label: str, action, done: str | None = None) -> None:
    """The Delete / Cancel pair of a confirmation dialog: runs `action` on confirm, flashes the
    outcome (or its error), closes the dialog."""
    from studio import state

    confirm, cancel = st.columns(2)
    if confirm.button(label, type="primary", icon=":material/delete:", width="stretch"):
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
