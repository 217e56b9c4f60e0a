"""Browser journeys: `streamlit run` on 127.0.0.1 with a temp data dir, driven by Playwright
with Debian's Chromium. Reusable fixtures and helpers; in a journey module:

    from tests.browser import browser, studio  # noqa: F401  (pytest fixtures)

    @pytest.mark.browser
    def test_something(studio, browser):
        page = browser.new_page()
        page.goto(studio.url)
        wait_idle(page)

Journeys skip when /usr/bin/chromium is missing, unless env CI is set (then they fail).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
VIEWPORT = {"width": 1440, "height": 960}
START_TIMEOUT = 90.0
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)."
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Studio:
    url: str
    home: Path
    log: Path
    process: subprocess.Popen

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def run_studio(home: Path, env: dict[str, str] | None = None, timeout: float = START_TIMEOUT,
               port: int | None = None) -> Iterator[Studio]:
    """`streamlit run streamlit_app.py` on a free port of 127.0.0.1 until the block ends.

    The data directory is `home`; DATABASE_URL (and everything else) passes through from the
    environment, `env` adds to it.
    """
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.address=127.0.0.1", f"--server.port={port}", "--server.headless=true",
        "--server.fileWatcherType=none", "--browser.gatherUsageStats=false",
    ]
    environment = {**os.environ, "CLONE_STUDIO_HOME": str(home), **(env or {})}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    studio = Studio(f"http://127.0.0.1:{port}", home, log, process)
    try:
        _wait_healthy(studio, timeout)
        yield studio
    finally:
        _stop(process)


def _wait_healthy(studio: Studio, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if studio.process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {studio.process.returncode}:\n{studio.output()}")
        try:
            with urllib.request.urlopen(f"{studio.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy within {timeout:.0f} s:\n{studio.output()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def launch_chromium(extra_args: Sequence[str] = ()) -> Iterator:
    """A Playwright Browser on Debian's Chromium (extra_args e.g. fake media devices)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, url: str | None = None):
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(60_000)
    if url:
        page.goto(url)
        wait_idle(page)
    return page


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the app is connected and no script run is in progress."""
    page.wait_for_selector(IDLE, timeout=timeout)


def screenshot(page, name: str) -> Path:
    """A full-page screenshot in /tmp (for people to look at; never compared)."""
    path = Path("/tmp") / f"clone-studio-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def screenshot_on_failure(page, name: str) -> Iterator[None]:
    """If the block fails, leave /tmp/clone-studio-<name>-failure.png behind to look at."""
    try:
        yield
    except BaseException:
        screenshot(page, f"{name}-failure")
        raise


@pytest.fixture
def studio(tmp_path, settings) -> Iterator[Studio]:
    """A running studio on a fresh data directory (and a fresh PostgreSQL database when DATABASE_URL is set)."""
    require_chromium()
    with run_studio(settings.home) as running:
        yield running


@pytest.fixture
def browser() -> Iterator:
    with launch_chromium() as chromium:
        yield chromium
