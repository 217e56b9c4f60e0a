"""Pages that show model output or passages (Chat, the Prompts playground) render a hostile
document's Markdown so that nothing in it could load, run or link anywhere unsafe."""
from __future__ import annotations

from studio.safe_markdown import unsafe_parts
from tests.studio_app import app, no_exception, studio_runtime  # noqa: F401
from tests.test_prompts_page import click, labelled, open_page, open_tab  # noqa: F401

LEAK = "http://127.0.0.1:9/leak"
HOSTILE = (
    "# Delivery\n\n"
    f"Paraffin is delivered by boat on the first Monday ![boat]({LEAK}/md) of each month.\n\n"
    f"Paraffin is stored in the shed <img src=\"{LEAK}/html\"> behind the tower.\n\n"
    "Paraffin orders go through the harbour office, [details](javascript:alert(1)).\n"
)


def _rendered(at) -> list[str]:
    """Everything on the page that the browser would render as Markdown."""
    kinds = ("markdown", "caption", "info", "error", "success", "warning")
    return [str(e.value) for kind in kinds for e in getattr(at, kind)] + [str(e.label) for e in at.expander]


def _hostile_clone(runtime):
    from core.clones import create_clone
    from core.knowledge.ingest import ingest_now

    clone = create_clone(runtime, "Harbour", "Reads untrusted files.")
    assert ingest_now(runtime, clone.id, "harbour.md", HOSTILE.encode()).status == "ready"
    return clone


def test_the_playground_renders_a_quoted_hostile_passage_safely(open_page, studio_runtime):  # noqa: F811
    clone = _hostile_clone(studio_runtime)
    at = open_tab(open_page("app_pages/prompts.py", {"clone": clone.id}), "play")
    labelled(at.text_input, "Question").set_value("When is paraffin delivered and where is it stored?")
    click(at, "Compare")
    shown = _rendered(at)
    assert sum("&#33;[boat]" in part for part in shown) >= 2, "both answers quote the image, defused"
    assert [(part, unsafe_parts(part)) for part in shown if unsafe_parts(part)] == []


def test_chat_renders_a_quoted_hostile_passage_safely(open_page, studio_runtime):  # noqa: F811
    clone = _hostile_clone(studio_runtime)
    at = open_page("app_pages/chat.py", {"clone": clone.id})
    at.chat_input[0].set_value("When is paraffin delivered and where is it stored?").run()
    no_exception(at)
    shown = _rendered(at)
    assert any("&#33;[boat]" in part for part in shown), "the offline answer quotes the image, defused"
    assert [(part, unsafe_parts(part)) for part in shown if unsafe_parts(part)] == []
