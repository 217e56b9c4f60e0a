"""Journey in a real browser: edit the system prompt, save it as a new version, diff it against the
previous one, activate it, ask in chat and see the new version recorded on the answer."""
from __future__ import annotations

import re

import pytest

from core.clones import create_clone
from core.knowledge.ingest import ingest_now
from core.runtime import open_runtime
from tests.browser import browser, new_page, require_chromium, run_studio, screenshot, wait_idle  # noqa: F401
from tests.test_prompts_page import NOTES

NEW_SYSTEM = "You are {{ clone_name }}, the lighthouse keeper.\nAnswer in one short sentence."


@pytest.fixture
def keeper_studio(settings):
    """The studio's pages (including Prompts) with a clone that knows a short log."""
    require_chromium()
    runtime = open_runtime(settings, seed_demo=False)
    clone = create_clone(runtime, "Keeper", "Keeps the lighthouse log.")
    ingest_now(runtime, clone.id, "lighthouse.md", NOTES.encode())
    runtime.close()
    with run_studio(settings.home) as studio:
        yield studio, clone


def button(scope, name):
    return scope.get_by_role("button", name=name, exact=True)


@pytest.mark.browser
def test_edit_save_diff_activate_and_chat_with_the_new_version(keeper_studio, browser):  # noqa: F811
    studio, clone = keeper_studio
    page = new_page(browser, f"{studio.url}/prompts?clone={clone.id}")
    page.get_by_text("Active versions: System v1").wait_for()

    # Edit the system prompt and save it as version 2 with a message.
    editor = page.get_by_role("textbox", name="System prompt")
    editor.fill(NEW_SYSTEM)
    editor.press("Control+Enter")
    wait_idle(page)
    page.get_by_text("variables OK").first.wait_for()
    page.get_by_role("textbox", name="Commit message").fill("One short sentence")
    page.get_by_role("textbox", name="Commit message").press("Enter")
    wait_idle(page)
    button(page, "Save version").click()
    page.get_by_text("Saved System v2.").wait_for()
    wait_idle(page)
    screenshot(page, "prompts-editor")

    # Diff v1 against v2, unified.
    page.get_by_role("tab", name=re.compile("History & diff")).click()
    page.get_by_text("1 line added").or_(page.get_by_text("2 lines added")).first.wait_for()
    page.get_by_text("Unified", exact=True).click()
    wait_idle(page)
    unified = page.locator("code.language-diff")
    unified.scroll_into_view_if_needed()
    assert "+Answer in one short sentence." in unified.inner_text()
    screenshot(page, "prompts-diff")

    # Activate v2.
    page.get_by_label(re.compile("Version to activate")).click()
    page.get_by_role("option", name="v2").click()
    wait_idle(page)
    button(page, "Activate").click()
    page.get_by_text("Keeper now answers with System v2.").wait_for()
    page.get_by_text("Active versions: System v2").wait_for()

    # Ask in chat: the answer records system v2.
    page.get_by_role("link", name=re.compile("chat", re.I)).first.click()
    page.wait_for_url(re.compile(r"/chat\?clone="))
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("When is paraffin delivered?")
    box.press("Enter")
    page.get_by_text("first Monday").first.wait_for(timeout=120_000)
    page.get_by_role("button", name="details").last.click()
    page.get_by_text(re.compile(r"system v2 · RAG v1 · user v1")).wait_for()
    screenshot(page, "prompts-chat")
