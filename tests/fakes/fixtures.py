"""Fixtures shared by the vendor tests. Import the names into a test module to use them."""
from __future__ import annotations

import pytest

from core import config, keys
from core.providers import net
from tests.fakes.server import fake_server  # noqa: F401  (re-exported fixture)


class Waits(list):
    """Stands in for the retrier's sleep: records each wait instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def policy(waits) -> net.Policy:
    """Short limits so stalls and trickles end within about two seconds."""
    return net.Policy(connect_timeout=1, read_timeout=0.6, deadline=2.0, retries=2, backoff=0.05, sleep=waits)


@pytest.fixture
def no_outside_keys(monkeypatch, tmp_path):
    """No provider key or base URL leaks in from the machine's environment or secrets file."""
    for entry in keys.PROVIDERS.values():
        for name in entry.env:
            monkeypatch.delenv(name, raising=False)
    for name in ("OPENAI_BASE_URL", "OPENAI_COMPATIBLE_BASE_URL", "ANTHROPIC_BASE_URL", "SARVAM_BASE_URL", keys.SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLONE_STUDIO_SECRETS", str(tmp_path / "absent-secrets.toml"))
    config._secrets.cache_clear()
    yield
    config._secrets.cache_clear()


@pytest.fixture
def db_runtime(settings, no_outside_keys):
    """A runtime with just the database (no ingestion worker, no demo clone)."""
    from core.runtime import Runtime

    rt = Runtime(settings)
    yield rt
    rt.close()


def quick_retries(provider):
    """`provider` with short limits whose backoff waits are recorded in `provider.sleeps`, not slept."""
    provider.sleeps = []
    provider.policy = net.Policy(connect_timeout=2, read_timeout=0.5, deadline=10, retries=2, backoff=0.01,
                                 sleep=provider.sleeps.append)
    return provider


@pytest.fixture
def no_voice_keys(monkeypatch):
    """No speech provider key from the machine, and an empty voice cache before and after."""
    from core import voices

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SARVAM_API_KEY", "SARVAM_AI_API_KEY", "ELEVENLABS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    voices.clear_cache()
    yield
    voices.clear_cache()
