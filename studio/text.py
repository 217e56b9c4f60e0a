"""Plain-text helpers for the UI: escaping user/model text for Markdown, human formats."""
from __future__ import annotations

import re
from datetime import datetime, timezone

# Markdown syntax, Streamlit's `:color[...]` / `:icon:` directives and `$` (LaTeX).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def escape_md(text: str) -> str:
    """Show `text` literally inside st.markdown (file names, titles, quoted passages)."""
    return _MD_SPECIAL.sub(r"\\\1", text or "")


def model_markdown(text: str) -> str:
    """Model output as Markdown that loads nothing by itself: no images, no HTML, links only to
    web pages, `$` a dollar sign (see studio.safe_markdown). Stream with safe_markdown.write_stream."""
    from studio.safe_markdown import safe_markdown

    return safe_markdown(text)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def fmt_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def fmt_ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    for limit, size, unit in ((60, 1, None), (3600, 60, "min"), (86400, 3600, "h"), (86400 * 30, 86400, "d")):
        if seconds < limit:
            return "just now" if unit is None else f"{int(seconds // size)} {unit} ago"
    return moment.strftime("%d %b %Y")


def prompt_versions_label(versions: dict | None) -> str:
    """{"system": 2, "rag": 1, "user": 1} -> "system v2 · RAG v1 · user v1" (a draft: "system draft")."""
    if not versions:
        return ""
    names = {"system": "system", "rag": "RAG", "user": "user"}
    return " · ".join(f"{names[layer]} {'draft' if versions[layer] is None else f'v{versions[layer]}'}"
                      for layer in names if layer in versions)
