"""AppTest helpers for the page tests: the real app on a temp data directory.

`settings` (tests/conftest.py) points CLONE_STUDIO_HOME (and DATABASE_URL on PostgreSQL) at a
fresh place; the cached runtime is cleared before and after each test so no test sees another's.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Callable

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app_main.py"
TIMEOUT = 120


def registered_pages() -> list[str]:
    """Every page file app_main.py puts in the navigation (st.Page("…")), in order."""
    tree = ast.parse(APP.read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"
        and node.args and isinstance(node.args[0], ast.Constant)
    ]


def open_app(page: str | None = None, query: dict | None = None) -> AppTest:
    """Run the app once (as a browser's first load would), then switch to `page` if given."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    if page:
        at.switch_page(page).run()
    return at


@pytest.fixture
def app(settings, monkeypatch) -> Callable[..., AppTest]:
    monkeypatch.setenv("CLONE_STUDIO_WARMUP", "0")  # no model-loading thread left running when pytest exits
    st.cache_resource.clear()
    yield open_app
    st.cache_resource.clear()


@pytest.fixture
def studio_runtime(app):
    """The runtime the app uses (the process-wide cached one), for arranging and checking data."""
    from studio.runtime import get_runtime

    return get_runtime()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} in {[b.label for b in at.button]}"
    return matches[0]


def texts(at: AppTest) -> str:
    """Every piece of Markdown, caption and alert on the page, joined and unescaped (for `in` checks)."""
    parts = [e.value for kind in ("markdown", "caption", "title", "subheader", "info", "error", "success", "warning")
             for e in getattr(at, kind)]
    return unescape("\n".join(str(p) for p in parts))


def unescape(markdown: str) -> str:
    return re.sub(r"\\([^\sA-Za-z0-9])", r"\1", markdown)
