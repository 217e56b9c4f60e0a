"""The offline models warm up in the background, once per process; pages know when a first use is slow."""
from __future__ import annotations

from core import warmup
from core.providers.tts_offline import piper_voice
from studio.runtime import first_use


def test_warm_up_loads_each_model_once_and_says_how_long_it_took():
    piper_voice.cache_clear()
    assert not warmup.loaded("voice")
    assert first_use("voice", "the offline voice", "Speaking…") == "Loading the offline voice, first time only…"
    timings = warmup.warm_up(("voice",))
    assert timings["voice"] is not None and timings["voice"] > 0
    assert warmup.loaded("voice")
    assert first_use("voice", "the offline voice", "Speaking…") == "Speaking…"


def test_the_background_warm_up_is_one_low_priority_daemon_thread(monkeypatch):
    monkeypatch.setenv(warmup.ENV, "1")
    thread = warmup.start_background(("embedder",), delay=0)
    assert thread.daemon and thread.name == "warm-offline-models"
    thread.join(120)
    assert not thread.is_alive() and warmup.loaded("embedder")


def test_the_warm_up_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(warmup.ENV, "0")
    assert warmup.start_background() is None


def test_a_model_that_fails_to_load_does_not_break_start_up(monkeypatch, caplog):
    def broken():
        raise RuntimeError("no model file")

    monkeypatch.setitem(warmup.MODELS, "voice", broken)
    assert warmup.warm_up(("voice",)) == {"voice": None}
    assert "Warming the offline voice failed" in caplog.text
