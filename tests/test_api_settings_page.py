"""Settings → Service API through AppTest: a token is shown once, listed masked with "last used",
revoked only after a confirmation; the cache's hit and miss counts are shown."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.api.tokens import authenticate, list_tokens
from tests.fakes.fixtures import no_outside_keys  # noqa: F401
from tests.fakes.pages import TIMEOUT, app, button, no_exception, studio_runtime, texts  # noqa: F401

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "settings.py")


@pytest.fixture
def page(app, no_outside_keys):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    no_exception(at)
    return at


def create(at: AppTest, name: str) -> AppTest:
    at.text_input(key="settings.api.name").input(name)
    [submit] = [b for b in at.button if b.form_id == "settings.api.create"]
    submit.click().run()
    no_exception(at)
    return at


def test_a_new_token_is_shown_once_and_then_only_masked(page, studio_runtime):
    assert "No tokens yet." in texts(page) and "0 hits, 0 misses" in texts(page)
    create(page, "phone agent")
    [shown] = [c.value.strip() for c in page.code]
    assert shown.startswith("cs_") and authenticate(studio_runtime, shown).name == "phone agent"
    assert "it is not shown again" in texts(page)
    page.run()
    no_exception(page)
    assert not page.code and shown not in texts(page)
    assert f"{shown[:7]}…{shown[-4:]}" in texts(page)
    assert "Last used never" not in texts(page) and "Last used 20" in texts(page)  # authenticate() above used it


def test_a_duplicate_name_is_refused_in_one_sentence(page):
    create(create(page, "ci"), "ci")
    assert "You already have a token called 'ci'" in texts(page)
    assert len([c for c in page.code]) == 0


def test_revoking_asks_first_and_then_the_token_stops_working(page, studio_runtime):
    create(page, "old script")
    token = page.code[0].value.strip()
    page.run()
    button(page, "Revoke").click().run()
    assert "Programs using it get 401" in texts(page)
    button(page, "Cancel").click().run()
    assert authenticate(studio_runtime, token) is not None
    button(page, "Revoke").click().run()
    button(page, "Revoke token").click().run()
    no_exception(page)
    assert authenticate(studio_runtime, token) is None and list_tokens(studio_runtime) == []
    assert "Revoked the token 'old script'." in texts(page)

