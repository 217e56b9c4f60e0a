"""Journey: the first ten minutes in Chromium. The welcome (dismissed for good), the demo chat's
suggested questions, and Settings never giving a saved key back."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import browser, new_page, screenshot, screenshot_on_failure, studio, wait_idle  # noqa: F401

CANARY = "sk-proj-CANARY7f3a9e21b44d0c5e"


def _fragments(secret: str, size: int = 5) -> set[str]:
    """Every run of `size` characters of the secret: none may appear anywhere (the last four may)."""
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


@pytest.mark.browser
def test_a_newcomer_is_welcomed_tries_a_suggested_question_and_a_saved_key_never_comes_back(studio, browser):
    page = new_page(browser, studio.url)
    with screenshot_on_failure(page, "journey-newcomer"):
        # The welcome: what a clone is, three steps; it goes away for good.
        expect(page.get_by_text("Welcome to Clone Studio")).to_be_visible()
        expect(page.get_by_text("1. Create a clone")).to_be_visible()
        screenshot(page, "newcomer-welcome")
        page.get_by_role("button", name="Try the demo chat").click()
        page.wait_for_url(re.compile(r"/chat\?clone="))
        wait_idle(page)

        # The demo's empty chat offers three questions from its documents; one click asks it.
        suggestions = page.get_by_role("button", name=re.compile(r"\?$"))
        expect(suggestions).to_have_count(3)
        expect(page.get_by_role("button", name="Offline · extractive")).to_be_visible()  # the model picker
        screenshot(page, "newcomer-suggestions")
        question = suggestions.first.inner_text().strip().splitlines()[-1]  # after the icon's ligature
        suggestions.first.click()
        page.wait_for_url(re.compile(r"thread="), timeout=120_000)
        wait_idle(page)
        expect(page.get_by_test_id("stChatMessage").filter(has_text=question).first).to_be_visible()
        expect(page.get_by_text(re.compile(r"^offline · \d"))).to_be_visible()
        screenshot(page, "newcomer-answer")

        page.goto(studio.url)
        wait_idle(page)
        expect(page.get_by_role("heading", name="Clones")).to_be_visible()
        page.get_by_role("button", name="Got it, don't show this again").click()
        expect(page.get_by_text("Welcome to Clone Studio")).to_have_count(0)  # the rerun has saved it
        wait_idle(page)
        page.reload()
        wait_idle(page)
        expect(page.get_by_role("heading", name="Clones")).to_be_visible()
        expect(page.get_by_text("Welcome to Clone Studio")).to_have_count(0)

        # Settings: after Save, the field is empty and nothing holds more than the last four characters.
        page.goto(f"{studio.url}/settings")
        wait_idle(page)
        form = page.get_by_test_id("stForm").first
        field = form.locator("input").first  # a password field until the eye toggle shows it
        field.fill(CANARY)
        form.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved the OpenAI key.")).to_be_visible()
        wait_idle(page)
        expect(page.get_by_text(f"••••{CANARY[-4:]}")).to_be_visible()
        form.get_by_role("button", name=re.compile("show password", re.I)).click()  # the eye toggle
        assert field.input_value() == ""
        for rerun in range(2):  # the page as drawn, and after another action's rerun
            values = page.eval_on_selector_all("input, textarea", "els => els.map(e => e.value)")
            html = page.content()
            assert not any(fragment in value for value in values for fragment in _fragments(CANARY)), values
            assert not any(fragment in html for fragment in _fragments(CANARY))
            page.get_by_role("button", name="Test connection").first.click()
            wait_idle(page)
        screenshot(page, "newcomer-settings")
    assert CANARY not in studio.output()
