"""Journey in a real browser: build a suite (import a file), run it on two versions, see the
comparison, then ask one question and open Analytics to see the latency chart."""
from __future__ import annotations

import json
import re

import pytest

from tests.browser import browser, new_page, screenshot, screenshot_on_failure, studio, wait_idle  # noqa: F401

CASES = [
    {"question": "When is the bakery open on public holidays?", "must_contain": ["9:00"],
     "expected_source": {"document": "juniper-street-bakery-handbook.md"}},
    {"question": "When does the first bake start?", "must_contain": ["4:30"]},
    {"question": "What is the capital city of Mongolia?", "should_refuse": True},
]


def button(scope, name: str):
    return scope.get_by_role("button", name=name, exact=True)


@pytest.mark.browser
def test_build_a_suite_run_two_versions_compare_then_analytics(studio, browser, tmp_path):
    cases = tmp_path / "bakery.json"
    cases.write_text(json.dumps(CASES))
    page = new_page(browser, studio.url)
    with screenshot_on_failure(page, "journey-quality"):
        page.get_by_text("Ada, the Studio Guide").first.wait_for()
        page.get_by_role("link", name="Quality").click()
        page.wait_for_url(re.compile(r"/quality"))
        page.get_by_text("No test suites yet.").wait_for()

        # Build a suite: name it, then import the cases from a JSON file.
        page.get_by_label("Suite name").fill("Bakery facts")
        button(page, "Create suite").click()
        page.get_by_text("Created the suite Bakery facts.").wait_for()
        wait_idle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(cases))
        page.get_by_text("bakery.json").first.wait_for()
        button(page, "Import into this suite").click()
        page.get_by_text("Imported 3 cases from bakery.json.").wait_for()
        wait_idle(page)
        screenshot(page, "quality-suite")

        # Run it on the active versions, then on an unsaved draft of the user layer.
        page.get_by_role("tab", name=re.compile("Run")).click()
        wait_idle(page)
        button(page, "Run suite").click()
        page.get_by_text("The run finished; its results are below.").wait_for(timeout=180_000)
        wait_idle(page)
        page.get_by_test_id("stMetricValue").first.wait_for()
        page.get_by_label("User").click()  # the layer's version picker
        page.get_by_role("option", name="Unsaved draft…").click()
        wait_idle(page)
        page.get_by_label("User draft").fill("Answer in the fewest words: {{ question }}")
        page.get_by_label("Label (optional)").fill("terse user layer")
        wait_idle(page)
        button(page, "Run suite").click()
        page.get_by_text("The run finished; its results are below.").wait_for(timeout=180_000)
        wait_idle(page)
        screenshot(page, "quality-run")

        # Compare the two runs.
        page.get_by_role("tab", name=re.compile("Compare")).click()
        wait_idle(page)
        page.get_by_text("Got worse").wait_for()
        page.get_by_text(re.compile(r"Layers changed: User v1 → draft")).wait_for()
        page.get_by_test_id("stDataFrame").last.wait_for()
        screenshot(page, "quality-compare")

        # One question in Chat, then Analytics shows its latency.
        page.get_by_role("link", name="Chat").click()
        page.wait_for_url(re.compile(r"/chat"))
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill("When does the first bake start?")
        box.press("Enter")
        page.get_by_text("4:30").first.wait_for(timeout=120_000)
        wait_idle(page)
        page.get_by_role("link", name="Analytics").click()
        page.wait_for_url(re.compile(r"/analytics"))
        wait_idle(page)
        page.get_by_role("tab", name=re.compile("Latency")).click()
        wait_idle(page)
        page.get_by_text("Latency per day: p50 (solid) and p95 (dotted)").first.wait_for()
        page.locator('[data-testid="stPlotlyChart"]:visible').first.wait_for()
        screenshot(page, "analytics-latency")
