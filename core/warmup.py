"""Load the offline models before anyone needs them: the embedder (first upload, first search),
the Piper voice (first preview) and Whisper (first spoken question). Each loads once per process
and is then shared, so a background warm-up turns a 15 s first use into an instant one.

`start_background()` runs `warm_up()` in one low-priority daemon thread; CLONE_STUDIO_WARMUP=0
turns it off. `loaded(name)` says whether a model is already in memory, so a page can say
"first time only" in its spinner.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from time import perf_counter
from typing import Callable

from core.config import setting

log = logging.getLogger(__name__)

ENV = "CLONE_STUDIO_WARMUP"
NICENESS = 10  # the warm-up thread yields the CPU to page runs
START_DELAY = 3.0  # seconds: the first page finishes drawing before any model loads


def _embedder() -> None:
    from core.providers.minilm import _session, _tokenizer

    _session()
    _tokenizer()


def _voice() -> None:
    from core.providers.tts_offline import piper_voice

    piper_voice()


def _speech() -> None:
    from core.providers.stt_offline import whisper_model

    whisper_model()


MODELS: dict[str, Callable[[], None]] = {"embedder": _embedder, "voice": _voice, "speech": _speech}


def loaded(name: str) -> bool:
    """Whether the offline model `name` (embedder / voice / speech) is already in memory."""
    from core.providers import minilm, stt_offline, tts_offline

    cached = {"embedder": minilm._session, "voice": tts_offline.piper_voice, "speech": stt_offline.whisper_model}[name]
    return cached.cache_info().currsize > 0


def enabled() -> bool:
    return (setting(ENV, "1") or "1").strip().lower() not in ("0", "false", "no", "off")


def warm_up(names: tuple[str, ...] = tuple(MODELS)) -> dict[str, float | None]:
    """Load each model (milliseconds each; None where it failed: the first real use then says why)."""
    timings: dict[str, float | None] = {}
    for name in names:
        started = perf_counter()
        try:
            MODELS[name]()
            timings[name] = round((perf_counter() - started) * 1000, 1)
        except Exception as error:  # a missing model must not break start-up; its page explains
            log.warning("Warming the offline %s failed: %s", name, error)
            timings[name] = None
    log.info("Offline models warmed: %s", timings)
    return timings


def start_background(names: tuple[str, ...] = tuple(MODELS), delay: float = START_DELAY) -> threading.Thread | None:
    """Warm the models in one daemon thread at low priority, after `delay` seconds (None when turned off)."""
    if not enabled():
        return None

    def run() -> None:
        time.sleep(delay)
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        except (AttributeError, OSError):
            pass
        warm_up(names)

    thread = threading.Thread(target=run, name="warm-offline-models", daemon=True)
    thread.start()
    return thread
