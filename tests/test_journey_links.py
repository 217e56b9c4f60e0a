"""Journey: a shared link (page + clone + thread) opens where it points, in the studio's frame,
even when it is the first request a freshly started server sees."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.chat import answer
from core.demo import FIRST_QUESTION
from core.runtime import open_runtime
from tests.browser import browser, new_page, run_studio, screenshot, screenshot_on_failure  # noqa: F401
from tests.browser import require_chromium


@pytest.mark.browser
def test_a_shared_chat_link_opens_on_its_thread_in_the_studio_navigation(settings, browser):
    require_chromium()
    runtime = open_runtime(settings)  # first run: the demo clone
    with runtime.session() as session:
        from core.clones import list_clones

        (demo,) = list_clones(session)
    thread_id = answer(runtime, demo.id, FIRST_QUESTION)["thread_id"]
    runtime.close()

    with run_studio(settings.home) as studio:
        page = new_page(browser, f"{studio.url}/chat?clone={demo.id}&thread={thread_id}")
        with screenshot_on_failure(page, "journey-link"):
            expect(page.get_by_text(FIRST_QUESTION).first).to_be_visible()
            navigation = page.get_by_test_id("stSidebarNav")
            expect(navigation).to_contain_text("Clones")
            expect(navigation).not_to_contain_text("streamlit app")
            screenshot(page, "shared-link")
