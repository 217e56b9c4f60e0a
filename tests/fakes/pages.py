"""AppTest helpers for the provider pages and widgets: a fresh cached runtime per test."""
from __future__ import annotations

import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

TIMEOUT = 120


@pytest.fixture
def app(settings):
    """Clears Streamlit's cached runtime before and after, so each test has its own data directory."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def studio_runtime(app):
    """The runtime the pages use (the process-wide cached one)."""
    from studio.runtime import get_runtime

    return get_runtime()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} in {[b.label for b in at.button]}"
    return matches[0]


def texts(at: AppTest) -> str:
    """Markdown, captions and alerts, joined, with Markdown escapes removed."""
    parts = [e.value for kind in ("markdown", "caption", "title", "subheader", "info", "error", "success", "warning")
             for e in getattr(at, kind)]
    return re.sub(r"\\([^\w\s])", r"\1", "\n".join(str(p) for p in parts))


def rendered(at: AppTest) -> str:
    """Every element the page sent, as protobuf text (labels, values, defaults, placeholders)."""
    parts = []

    def walk(node) -> None:
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)
