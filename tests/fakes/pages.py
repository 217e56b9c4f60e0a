"""AppTest helpers for the provider pages and widgets (the shared ones live in tests/studio_app.py)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.studio_app import TIMEOUT, app, button, no_exception, studio_runtime, texts  # noqa: F401


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
