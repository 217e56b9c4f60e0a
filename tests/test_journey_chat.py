"""Journey in a real browser: create a clone, upload a PDF, ask about page 2, see the cited answer."""
from __future__ import annotations

import re

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.browser import browser, new_page, screenshot, screenshot_on_failure, studio, wait_idle  # noqa: F401

PAGE_ONE = [
    "The Marlow Hill Observatory",
    "The observatory sits on a chalk ridge above the town of Marlow.",
    "Visitors climb a spiral stair of ninety steps to reach the dome.",
]
PAGE_TWO = [
    "The great telescope",
    "The telescope mirror is 3.2 metres wide.",
    "It was polished by hand by Ingrid Halvorsen over eleven winters, finishing in 1962.",
]


def observatory_pdf(path) -> None:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for lines in (PAGE_ONE, PAGE_TWO):
        y = 780
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 22
        pdf.showPage()
    pdf.save()


def streamlit_button(scope, name: str):
    return scope.get_by_role("button", name=name, exact=True)


@pytest.mark.browser
def test_create_upload_ask_and_see_the_page_cited(studio, browser, tmp_path):
    pdf = tmp_path / "observatory.pdf"
    observatory_pdf(pdf)
    page = new_page(browser, studio.url)
    with screenshot_on_failure(page, "journey-chat"):
        # The studio opens on the Clones gallery with the demo clone.
        page.get_by_text("Ada, the Studio Guide").first.wait_for()
        screenshot(page, "clones")

        # Create a clone: New clone opens the wizard, From scratch first; it lands on the clone's Knowledge page.
        streamlit_button(page, "New clone").click()
        page.wait_for_url(re.compile(r"/new_clone"))
        page.locator(".st-key-method-scratch button").click()
        page.get_by_label("Name").fill("Stella, the astronomer")
        page.get_by_label("Description").fill("Knows the Marlow Hill Observatory inside out.")
        screenshot(page, "new-clone-wizard")
        streamlit_button(page, "Next: review").click()
        streamlit_button(page, "Create clone").click()
        page.get_by_text("Stella, the astronomer is ready").wait_for()
        page.wait_for_url(re.compile(r"/knowledge\?clone="))
        wait_idle(page)

        # Give it knowledge: upload the PDF and wait until it is ready.
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(pdf))
        page.get_by_text("observatory.pdf").first.wait_for()
        streamlit_button(page, "Add to knowledge").click()
        page.get_by_text(re.compile(r"\d+ chunks? · 2 pages")).wait_for(timeout=120_000)  # shown once ready
        wait_idle(page)
        screenshot(page, "knowledge")

        # Chat from the sidebar: the selected clone follows.
        page.get_by_role("link", name="Chat").click()
        page.wait_for_url(re.compile(r"/chat\?clone="))
        page.get_by_text("Hi, I'm Stella, the astronomer").wait_for()
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill("How wide is the telescope mirror?")
        box.press("Enter")

        page.get_by_text("3.2 metres").first.wait_for(timeout=120_000)
        citation = page.get_by_text(re.compile(r"observatory\.pdf.*· page 2"))
        citation.first.wait_for()
        page.wait_for_url(re.compile(r"thread="))
        wait_idle(page)
        page.get_by_text(re.compile(r"^Inspector")).click()
        page.get_by_test_id("stDataFrame").first.wait_for()
        page.get_by_text(re.compile(r"^offline · \d")).first.wait_for()  # the human line
        page.get_by_role("button", name="details").first.click()
        page.get_by_text(re.compile(r"system v1 · RAG v1 · user v1")).wait_for()
        screenshot(page, "chat")

        # A reload lands on the same clone and thread.
        url = page.url
        page.reload()
        wait_idle(page)
        page.get_by_text(re.compile(r"observatory\.pdf.*· page 2")).first.wait_for()
        assert page.url == url
