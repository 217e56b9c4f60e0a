"""Offline speech benchmark: Piper TTS and Whisper tiny.en on a two-sentence answer.

Prints, over several runs (median and worst):
- load time of each model (once per process);
- time to first audio, measured from the moment the answer's first sentence is complete in
  the text stream (the target is <= 300 ms), with the answer streamed word by word as a
  model would write it;
- TTS real-time factor (synthesis time / audio length) and STT real-time factor
  (transcription time / audio length), plus the words Whisper got back.

    python bench/speech.py [--runs 5] [--words-per-second 30]
    CLONE_STUDIO_SPEECH_THREADS=1 python bench/speech.py
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.providers.speech import SentenceBuffer, get_stt, get_tts, join_audio, speak_stream  # noqa: E402
from core.providers.stt_offline import whisper_model  # noqa: E402
from core.providers.tts_offline import THREADS, piper_voice  # noqa: E402

ANSWER = (
    "Staff get twenty-five days of annual leave each year [1]. "
    "Up to five unused days can be carried over into the next year, if your manager agrees [2]."
)
TARGET_MS = 300.0


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def streamed_words(text: str, words_per_second: float, marks: dict):
    """The answer as a model streams it; records when the first sentence became complete."""
    buffer = SentenceBuffer()
    for word in re.findall(r"\S+\s*", text):
        if words_per_second:
            time.sleep(1 / words_per_second)
        if "first_sentence" not in marks and buffer.feed(word):
            marks["first_sentence"] = time.perf_counter()
        yield word


def one_run(words_per_second: float) -> dict:
    tts, stt = get_tts("offline"), get_stt("offline")
    marks: dict[str, float] = {}
    start = time.perf_counter()
    chunks = []
    for chunk in speak_stream(tts, streamed_words(ANSWER, words_per_second, marks)):
        if not chunks:
            marks["first_audio"] = time.perf_counter()
        chunks.append(chunk)
    done = time.perf_counter()
    audio = join_audio(chunks)
    synthesis_ms = (done - start) * 1000 - (len(ANSWER.split()) / words_per_second * 1000 if words_per_second else 0)
    transcript, stt_ms = timed(lambda: stt.transcribe(audio.data, audio.sample_rate, "en"))
    return {
        "first_audio_ms": (marks["first_audio"] - marks["first_sentence"]) * 1000,
        "audio_s": audio.seconds,
        "tts_rtf": synthesis_ms / 1000 / audio.seconds,
        "stt_ms": stt_ms,
        "stt_rtf": stt_ms / 1000 / audio.seconds,
        "text": transcript.text,
    }


def offline_tts_rtf() -> float:
    """Synthesis alone (no streaming), whole answer: seconds of compute per second of audio."""
    tts = get_tts("offline")
    chunks, ms = timed(lambda: list(tts.stream(ANSWER)))
    return ms / 1000 / join_audio(chunks).seconds


def summary(name: str, values: list[float], unit: str, digits: int = 0) -> str:
    return f"{name:<38} median {statistics.median(values):8.{digits}f}{unit}   worst {max(values):8.{digits}f}{unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--words-per-second", type=float, default=30.0, help="how fast the answer streams in (0: all at once)")
    args = parser.parse_args()

    print(f"Offline speech benchmark ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"{THREADS} threads per model; CLONE_STUDIO_SPEECH_THREADS changes it)")
    print(f"answer: {len(ANSWER)} characters, two sentences, streamed at {args.words_per_second:g} words/s\n")
    _, tts_load = timed(piper_voice)
    _, stt_load = timed(whisper_model)
    print(f"{'load Piper (en_US joe medium)':<38} {tts_load:8.0f} ms")
    print(f"{'load Whisper tiny.en (int8)':<38} {stt_load:8.0f} ms")
    cold = one_run(args.words_per_second)
    print(f"{'first run: time to first audio':<38} {cold['first_audio_ms']:8.0f} ms (includes warm-up)\n")

    runs = [one_run(args.words_per_second) for _ in range(args.runs)]
    rtfs = [offline_tts_rtf() for _ in range(args.runs)]
    first = [r["first_audio_ms"] for r in runs]
    print(summary("time to first audio after sentence 1", first, " ms"))
    print(summary("TTS real-time factor (streamed)", [r["tts_rtf"] for r in runs], "", 3))
    print(summary("TTS real-time factor (whole answer)", rtfs, "", 3))
    print(summary("STT time for the answer", [r["stt_ms"] for r in runs], " ms"))
    print(summary("STT real-time factor", [r["stt_rtf"] for r in runs], "", 3))
    print(f"{'audio length':<38} {runs[0]['audio_s']:8.2f} s")
    print(f"\nWhisper heard: {runs[-1]['text']!r}")
    median = statistics.median(first)
    verdict = "meets" if median <= TARGET_MS else "misses"
    print(f"\nfirst audio / target: {median:.0f} / {TARGET_MS:.0f} ms = {median / TARGET_MS:.2f} ({verdict} the target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
