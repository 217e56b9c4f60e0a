"""The reply's pending audio: a thread-safe FIFO that a WebRTC source track reads every 20 ms.

Unlike a plain FIFO it knows how much audio is pending (for the stricter barge-in gate and
speakerphone mode), when the first and last non-silent frames went out (for latency and
barge-in figures), and it can pause and resume (a false interruption resumes the answer).
"""
from __future__ import annotations

import asyncio
import fractions
import threading
import time
from collections import deque

import numpy as np

RATE = 24_000
PTIME = 0.02
FRAME = int(RATE * PTIME)
TAIL = 0.25  # seconds the browser may still be playing after the last frame went out


class ReplyBuffer:
    def __init__(self, rate: int = RATE, frame: int = FRAME, clock=time.monotonic):
        self.rate, self.frame, self.clock = rate, frame, clock
        self._lock = threading.Lock()
        self._chunks: deque[np.ndarray] = deque()
        self._pending = 0
        self._paused = False
        self.first_audio_at: float | None = None  # first non-silent frame since `mark()`
        self.last_audio_at: float | None = None  # latest non-silent frame sent
        self.frames_sent = 0

    # producer side (the worker) -------------------------------------------------
    def push(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.int16).reshape(-1)
        if samples.size:
            with self._lock:
                self._chunks.append(samples)
                self._pending += samples.size

    def mark(self) -> None:
        """Start watching for the first audio of a new answer."""
        with self._lock:
            self.first_audio_at = None

    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    def clear(self) -> int:
        """Drop everything pending (a confirmed interruption); returns the samples dropped."""
        with self._lock:
            dropped, self._pending = self._pending, 0
            self._chunks.clear()
            self._paused = False
            return dropped

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def pending_seconds(self) -> float:
        return self._pending / self.rate

    def speaking(self, tail: float = TAIL) -> bool:
        """Audio is pending, or went out less than `tail` seconds ago."""
        if self._pending:
            return True
        last = self.last_audio_at
        return last is not None and self.clock() - last < tail

    # consumer side (the track, on aiortc's loop) -----------------------------------
    def read(self) -> np.ndarray:
        """One frame: pending audio, or silence when paused or empty."""
        out = np.zeros(self.frame, dtype=np.int16)
        with self._lock:
            if not self._paused:
                filled = 0
                while filled < self.frame and self._chunks:
                    head = self._chunks[0]
                    take = min(self.frame - filled, head.size)
                    out[filled : filled + take] = head[:take]
                    filled += take
                    if take == head.size:
                        self._chunks.popleft()
                    else:
                        self._chunks[0] = head[take:]
                self._pending -= filled
                if filled and np.any(out):
                    now = self.clock()
                    self.last_audio_at = now
                    if self.first_audio_at is None:
                        self.first_audio_at = now
            self.frames_sent += 1
        return out


def make_track(buffer: ReplyBuffer):
    """An aiortc audio track that sends `buffer` in real time (silence when nothing is pending)."""
    import av
    from aiortc import MediaStreamTrack
    from aiortc.mediastreams import MediaStreamError

    class ReplyTrack(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self._start: float | None = None
            self._pts = 0
            self._time_base = fractions.Fraction(1, buffer.rate)

        async def recv(self):
            if self.readyState != "live":
                raise MediaStreamError
            if self._start is None:
                self._start = time.monotonic()
            else:
                self._pts += buffer.frame
                wait = self._start + self._pts / buffer.rate - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            frame = av.AudioFrame.from_ndarray(buffer.read()[None, :], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = buffer.rate, self._pts, self._time_base
            return frame

    return ReplyTrack()
