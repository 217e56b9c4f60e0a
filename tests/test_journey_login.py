"""Journey: login on, against a local OpenID Connect provider (oidc-provider-mock, Flask, 127.0.0.1).

Alice and Bob sign in through the provider's form, each creates a clone, neither sees the
other's (a link to Bob's clone tells Alice it was not found); Alice's spent budget refuses a
cloud answer and offers the offline one; a second answer while one streams is refused; sign-out
returns to the sign-in screen.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from core import auth, preferences, spend
from core.clones import list_clones, update_clone
from core.runtime import open_runtime
from tests.browser import browser, free_port, new_page, run_studio, screenshot, screenshot_on_failure  # noqa: F401
from tests.browser import require_chromium, wait_idle
from tests.fakes.openai import completion_stream
from tests.fakes.server import FakeServer

pytest.importorskip("oidc_provider_mock")
pytest.importorskip("authlib")
expect.set_options(timeout=60_000)  # a shared, busy machine: waits are bounded, never short


@contextmanager
def oidc_provider():
    """`python -m oidc_provider_mock` on a free loopback port until the block ends."""
    port = free_port()
    users = [json.dumps({"sub": f"{name.lower()}@example.com", "email": f"{name.lower()}@example.com", "name": name})
             for name in ("Alice", "Bob")]
    command = [sys.executable, "-m", "oidc_provider_mock", "-H", "127.0.0.1", "-p", str(port)]
    for claims in users:
        command += ["--user-claims", claims]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the OIDC provider did not start")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def sign_in(page, studio_url: str, who: str) -> None:
    page.goto(studio_url)
    wait_idle(page)
    expect(page.get_by_text("Sign in to see your clones")).to_be_visible()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("input[name=sub]")
    page.fill("input[name=sub]", f"{who.lower()}@example.com")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{studio_url}/**")
    wait_idle(page)
    expect(page.get_by_text(f"Signed in as {who}")).to_be_visible()


def create_clone_in_ui(page, name: str) -> None:
    """The one New clone flow: the wizard, from scratch."""
    page.get_by_role("button", name="New clone").first.click()
    page.wait_for_url(re.compile(r"/new_clone"))
    page.locator(".st-key-method-scratch button").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Next: review", exact=True).click()
    page.get_by_role("button", name="Create clone", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text(f"{name} is ready")).to_be_visible()


def ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


@pytest.mark.browser
def test_two_people_sign_in_see_only_their_own_clones_and_sign_out(settings, browser, tmp_path):
    require_chromium()
    port = free_port()
    studio_url = f"http://127.0.0.1:{port}"
    slow = FakeServer().start()  # an OpenAI-compatible server answering slowly: a stream to overlap
    slow.route("POST", "/v1/chat/completions",
               lambda request: completion_stream([f"word{i} " for i in range(25)], interval=0.5))
    try:
        with oidc_provider() as issuer:
            env = {
                "CLONE_STUDIO_OIDC_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
                "CLONE_STUDIO_OIDC_CLIENT_ID": "clone-studio",
                "CLONE_STUDIO_OIDC_CLIENT_SECRET": "dev-secret",
                "CLONE_STUDIO_OIDC_REDIRECT_URI": f"{studio_url}/oauth2callback",
                "CLONE_STUDIO_ADMINS": "alice@example.com",
            }
            with run_studio(settings.home, env=env, port=port) as studio:
                alice_ctx, bob_ctx = browser.new_context(viewport={"width": 1440, "height": 960}), browser.new_context(
                    viewport={"width": 1440, "height": 960})
                alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
                for page in (alice, bob):
                    page.set_default_timeout(60_000)
                with screenshot_on_failure(alice, "journey-login-alice"), screenshot_on_failure(bob, "journey-login-bob"):
                    sign_in(alice, studio.url, "Alice")
                    create_clone_in_ui(alice, "Alice Archivist")
                    sign_in(bob, studio.url, "Bob")
                    create_clone_in_ui(bob, "Bob Baker")
                    expect(bob.get_by_text("Alice Archivist")).to_have_count(0)
                    alice.reload()
                    wait_idle(alice)
                    expect(alice.get_by_text("Alice Archivist").first).to_be_visible()
                    expect(alice.get_by_text("Bob Baker")).to_have_count(0)
                    screenshot(alice, "login-alice-clones")

                    runtime = open_runtime(settings, seed_demo=False)
                    try:
                        owners = {u.email: u.id for u in auth.list_users(runtime)}
                        with runtime.scoped(owners["bob@example.com"]).session() as session:
                            bobs = next(c for c in list_clones(session) if c.name == "Bob Baker")
                        alice_rt = runtime.scoped(owners["alice@example.com"])
                        with alice_rt.session() as session:
                            alices = next(c for c in list_clones(session) if c.name == "Alice Archivist")
                        # a link to Bob's clone: not found, and nothing of Bob's shows
                        alice.goto(f"{studio.url}/chat?clone={bobs.id}")
                        wait_idle(alice)
                        expect(alice.get_by_text("That clone was not found").first).to_be_visible()
                        expect(alice.get_by_text("Bob Baker")).to_have_count(0)

                        # the spend cap: a cloud answer is refused with one sentence, the offline one offered
                        update_clone(alice_rt, alices.id, llm_provider="openai", llm_model="gpt-4o-mini")
                        spend.set_cap(runtime, owners["alice@example.com"], "0")
                        alice.goto(f"{studio.url}/chat?clone={alices.id}")
                        wait_idle(alice)
                        ask(alice, "What do you know?")
                        wait_idle(alice)
                        expect(alice.get_by_text("You have reached today's cloud budget of $0.00").first).to_be_visible()
                        alice.get_by_role("button", name="Answer offline instead").click()
                        wait_idle(alice)
                        expect(alice.get_by_text("Answer offline instead")).to_have_count(0)
                        screenshot(alice, "login-spend-cap")

                        # one answer stream at a time: a second tab asking while the first streams is refused
                        preferences.set_base_url(alice_rt, "openai_compatible", f"{slow.url}/v1")
                        update_clone(alice_rt, alices.id, llm_provider="openai_compatible", llm_model="slow-model")
                        second = alice_ctx.new_page()
                        second.set_default_timeout(60_000)
                        second.goto(f"{studio.url}/chat?clone={alices.id}")
                        wait_idle(second)
                        ask(alice, "Tell me slowly.")
                        expect(alice.get_by_text("word2").first).to_be_visible()
                        ask(second, "And now?")
                        expect(second.get_by_text("You already have an answer being written").first).to_be_visible()
                        wait_idle(alice)
                        expect(alice.get_by_text("word24").first).to_be_visible()
                        screenshot(second, "login-one-stream")
                    finally:
                        runtime.close()

                    # sign-out returns to the sign-in screen
                    bob.get_by_role("button", name="Sign out").click()
                    bob.wait_for_url("**/end_session**")  # the provider's own confirmation page
                    bob.get_by_role("button", name="End session").click()
                    bob.wait_for_url(f"{studio.url}/**")
                    wait_idle(bob)
                    expect(bob.get_by_text("Sign in to see your clones")).to_be_visible()
                    expect(bob.get_by_text("Bob Baker")).to_have_count(0)
                    screenshot(bob, "login-signed-out")
    finally:
        slow.stop()
