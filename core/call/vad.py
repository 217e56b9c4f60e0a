"""Voice activity: Silero's ONNX model (as shipped by faster-whisper) with our own streaming
state, and a turn detector that turns per-window speech probabilities into turns."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import ProviderError

RATE = 16_000
WINDOW = 512  # samples per Silero window at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the v5/v6 models expect in front
WINDOW_SECONDS = WINDOW / RATE


def model_path() -> Path:
    """The Silero file the installed faster-whisper carries (1.2.1 ships silero_vad_v6.onnx)."""
    import faster_whisper

    assets = Path(faster_whisper.__file__).with_name("assets")
    for name in ("silero_vad_v6.onnx", "silero_vad_v5.onnx", "silero_vad.onnx"):
        if (assets / name).exists():
            return assets / name
    raise ProviderError("The voice activity model is missing; reinstall faster-whisper.")


@lru_cache(maxsize=1)
def _session():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(model_path()), sess_options=options, providers=["CPUExecutionProvider"])


class SileroVAD:
    """Speech probability of each 32 ms window, one stream at a time (its state is per instance)."""

    def __init__(self) -> None:
        self.session = _session()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        """`window`: WINDOW float32 samples in -1..1 at 16 kHz."""
        frame = np.concatenate([self._context, window.astype(np.float32, copy=False)])[None, :]
        probability, self._h, self._c = self.session.run(None, {"input": frame, "h": self._h, "c": self._c})
        self._context = window[-CONTEXT:].astype(np.float32, copy=True)
        return float(np.asarray(probability).reshape(-1)[0])


def windows(samples: np.ndarray) -> list[np.ndarray]:
    """Int16 or float samples cut into whole float32 windows (a short tail is left out)."""
    audio = samples.astype(np.float32) / 32768.0 if samples.dtype == np.int16 else samples.astype(np.float32)
    whole = len(audio) - len(audio) % WINDOW
    return [audio[i : i + WINDOW] for i in range(0, whole, WINDOW)]


@dataclass
class TurnRules:
    """Turn-taking defaults (research/voice.md §2B); `strict` is the gate while the clone speaks."""

    threshold: float = 0.5
    negative: float = 0.35
    min_speech: float = 0.15
    patience: float = 0.6  # silence that ends a turn
    speculate_after: float = 0.3  # silence after which transcription starts speculatively
    prefix: float = 0.4
    max_turn: float = 25.0
    strict_threshold: float = 0.8
    strict_min_speech: float = 0.5
    pause_after: float = 0.2  # speech over the clone pauses its audio after this long


# events a TurnDetector returns
START, SPECULATE, RESUMED, END, PAUSE = "start", "speculate", "resumed", "end", "pause"


class TurnDetector:
    """Feeds on (window, probability) pairs; returns the events each window causes.

    Before a turn: a ring of `prefix` seconds of audio. `min_speech` of speech (above
    `threshold`; `strict_threshold` / `strict_min_speech` while `strict`) starts a turn, whose
    audio then begins with the prefix. `speculate_after` seconds of silence (below `negative`)
    gives SPECULATE, speech after that RESUMED, `patience` seconds of silence (or `max_turn`)
    END. While strict, PAUSE comes after `pause_after` seconds of candidate speech.
    """

    def __init__(self, rules: TurnRules | None = None):
        self.rules = rules or TurnRules()
        self.strict = False
        self._reset()

    def _reset(self) -> None:
        self.in_turn = False
        self.audio: list[np.ndarray] = []
        self._ring: list[np.ndarray] = []
        self._candidate = 0  # windows of speech before a turn starts
        self._silence = 0
        self._speculated = False
        self._paused = False
        self.speech_windows = 0
        self._prefix = 0
        self.ended_by_limit = False

    def _n(self, seconds: float) -> int:
        return max(1, round(seconds / WINDOW_SECONDS))

    @property
    def seconds(self) -> float:
        return len(self.audio) * WINDOW_SECONDS

    def turn_audio(self) -> np.ndarray:
        """The turn so far as float32 samples (prefix included)."""
        return np.concatenate(self.audio) if self.audio else np.zeros(0, dtype=np.float32)

    def speech_seconds(self) -> float:
        """The turn's length without the prefix and the closing silence."""
        return max(0.0, (len(self.audio) - self._prefix - self._silence) * WINDOW_SECONDS)

    def take(self) -> np.ndarray:
        audio = self.turn_audio()
        self._reset()
        return audio

    def cancel(self) -> None:
        """Forget a candidate or a turn (speech judged not to be the user's)."""
        self._reset()

    def feed(self, window: np.ndarray, probability: float) -> list[str]:
        rules = self.rules
        if not self.in_turn:
            self._ring = (self._ring + [window])[-self._n(rules.prefix + rules.strict_min_speech):]
            threshold = rules.strict_threshold if self.strict else rules.threshold
            needed = rules.strict_min_speech if self.strict else rules.min_speech
            if probability >= threshold:
                self._candidate += 1
            elif probability < rules.negative:
                self._candidate = 0
                if self._paused:
                    self._paused = False
                    return [RESUMED]
            events = []
            if self.strict and not self._paused and self._candidate >= self._n(rules.pause_after):
                self._paused = True
                events.append(PAUSE)
            if self._candidate >= self._n(needed):
                keep = self._candidate + self._n(rules.prefix)
                self.audio = self._ring[-keep:]
                self._prefix = len(self.audio) - self._candidate
                self.in_turn, self.speech_windows, self._silence = True, self._candidate, 0
                self._candidate, self._ring = 0, []
                events.append(START)
            return events
        self.audio.append(window)
        if probability >= rules.threshold or (probability >= rules.negative and self._silence == 0):
            self.speech_windows += 1
            resumed = self._speculated
            self._silence, self._speculated = 0, False
            events = [RESUMED] if resumed else []
        else:
            self._silence += 1
            events = []
            if not self._speculated and self._silence >= self._n(rules.speculate_after):
                self._speculated = True
                events.append(SPECULATE)
            if self._silence >= self._n(rules.patience):
                events.append(END)
                return events
        if self.seconds >= rules.max_turn:
            self.ended_by_limit = True
            events.append(END)
        return events


def segment(samples: np.ndarray, rules: TurnRules | None = None, vad: SileroVAD | None = None) -> list[tuple[float, float]]:
    """(start, end) seconds of each turn in a recording, as a live call would cut it."""
    vad = vad or SileroVAD()
    detector = TurnDetector(rules)
    turns, start = [], 0.0
    for i, window in enumerate(windows(samples)):
        for event in detector.feed(window, vad(window)):
            now = (i + 1) * WINDOW_SECONDS
            if event == START:
                start = now - detector.speech_seconds()
            elif event == END:
                turns.append((round(start, 3), round(start + detector.speech_seconds(), 3)))
                detector.take()
    if detector.in_turn:
        turns.append((round(start, 3), round(start + detector.speech_seconds(), 3)))
    return turns
