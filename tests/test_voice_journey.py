"""Journey in a real browser: preview a voice with the offline default and hear audio."""
from __future__ import annotations

import pytest

from tests.browser import browser, new_page, screenshot, studio, wait_idle  # noqa: F401


@pytest.mark.browser
def test_preview_a_voice_offline_and_hear_it(studio, browser):
    page = new_page(browser, f"{studio.url}/voice")
    assert page.get_by_text("Speaking with").is_visible()
    page.get_by_text("A standard line", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Preview").click()
    audio = page.wait_for_selector("audio[src]", timeout=120_000)
    wait_idle(page)
    source = audio.get_attribute("src")
    assert source
    media = page.request.get(audio.evaluate("element => element.src"))
    assert media.ok and media.body()[:4] == b"RIFF" and len(media.body()) > 44_100
    page.wait_for_function("() => document.querySelector('audio').duration > 1")  # the browser decoded it
    screenshot(page, "voice-preview")
