"""An in-process caller for the call worker: an aiortc peer that plays recorded speech into a
CallSession through streamlit-webrtc's WebRtcWorker (as the Call page wires it) and records the
reply track. Used by tests/test_call_loopback.py and bench/voice.py (no browser).
"""
from __future__ import annotations

import asyncio
import fractions
import threading
import time
from dataclasses import dataclass, field

import numpy as np

RATE = 48_000
FRAME = 960  # 20 ms at 48 kHz, as a browser sends


def speech(text: str, rate: int = RATE, voice: str = "piper") -> np.ndarray:
    """`text` spoken by Piper (or espeak-ng) as int16 mono at `rate`."""
    from core.providers.speech import decode_audio, join_audio, read_wav

    if voice == "espeak":
        import subprocess

        wav = subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, check=True).stdout
        pcm, source = read_wav(wav)
        from core.providers.speech import wav_bytes

        wav = wav_bytes(np.frombuffer(pcm, dtype="<i2"), source)
    else:
        from core.providers.tts_offline import PiperTTS

        wav = join_audio(PiperTTS().stream(text, settings={"variation": 0.0})).wav()
    pcm, _ = decode_audio(wav, rate)
    return np.frombuffer(pcm, dtype="<i2").copy()


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(rate * seconds), dtype=np.int16)


class Microphone:
    """An aiortc audio track that plays queued samples in real time, then silence."""

    def __init__(self) -> None:
        from aiortc import MediaStreamTrack

        self._lock = threading.Lock()
        self._pending = np.zeros(0, dtype=np.int16)
        self.speech_ends: list[float] = []  # monotonic time each queued utterance finished playing
        self._marks: list[int] = []  # sample counts at which an utterance ends
        self._sent = 0
        outer = self

        class _Track(MediaStreamTrack):
            kind = "audio"

            def __init__(self) -> None:
                super().__init__()
                self._start: float | None = None
                self._pts = 0

            async def recv(self):
                import av

                if self._start is None:
                    self._start = time.monotonic()
                else:
                    self._pts += FRAME
                    wait = self._start + self._pts / RATE - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                samples = outer._take()
                frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = RATE, self._pts, fractions.Fraction(1, RATE)
                return frame

        self.track = _Track()

    def say(self, samples: np.ndarray, trailing_silence: float = 0.0) -> None:
        """Queue an utterance; its end of speech is noted when its last sample is sent."""
        with self._lock:
            self._pending = np.concatenate([self._pending, samples.astype(np.int16)])
            self._marks.append(self._sent + self._pending.size)
            self._pending = np.concatenate([self._pending, silence(trailing_silence)])

    def _take(self) -> np.ndarray:
        out = np.zeros(FRAME, dtype=np.int16)
        with self._lock:
            n = min(FRAME, self._pending.size)
            out[:n], self._pending = self._pending[:n], self._pending[n:]
            self._sent += FRAME
            while self._marks and self._marks[0] <= self._sent:
                self._marks.pop(0)
                self.speech_ends.append(time.monotonic())
        return out


@dataclass
class Recording:
    """The reply track as received: (arrival time, samples at 48 kHz mono) per frame."""

    frames: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def audio(self, since: float = 0.0) -> np.ndarray:
        chunks = [samples for at, samples in self.frames if at >= since]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def first_sound_after(self, moment: float, level: int = 300) -> float | None:
        return next((at for at, samples in self.frames if at >= moment and np.abs(samples).max() > level), None)

    def last_sound(self, level: int = 300) -> float | None:
        loud = [at for at, samples in self.frames if np.abs(samples).max() > level]
        return loud[-1] if loud else None


class Loopback:
    """`async with Loopback(session) as call:` connects a caller to `session` over WebRTC on
    the running loop (no ICE servers, loopback host candidates), then tears both ends down."""

    def __init__(self, session, rtc_configuration: dict | None = None):
        self.session = session
        self.rtc_configuration = rtc_configuration if rtc_configuration is not None else {"iceServers": []}
        self.microphone = Microphone()
        self.recording = Recording()
        self.connect_started: float | None = None
        self.audio_flowing_at: float | None = None  # first reply frame at the caller

    async def __aenter__(self) -> "Loopback":
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.contrib.media import MediaRelay
        from streamlit_webrtc.config import compile_rtc_configuration
        from streamlit_webrtc.sink import AudioSinkTrack
        from streamlit_webrtc.webrtc import WebRtcMode, WebRtcWorker

        loop = asyncio.get_running_loop()
        self.connect_started = time.monotonic()
        self.session.start()
        self.client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.client.addTrack(self.microphone.track)

        @self.client.on("track")
        def _on_track(track) -> None:
            self._reader = asyncio.ensure_future(self._record(track))

        self.sink = AudioSinkTrack(callback=self.session.push_frame)
        self.worker = WebRtcWorker(
            mode=WebRtcMode.SENDRECV, rtc_configuration=compile_rtc_configuration(self.rtc_configuration),
            source_video_track=None, source_audio_track=self.session.track, sink_video_track=None,
            sink_audio_track=self.sink, player_factory=None, in_recorder_factory=None, out_recorder_factory=None,
            video_frame_callback=None, audio_frame_callback=None, queued_video_frames_callback=None,
            queued_audio_frames_callback=None, on_video_ended=None, on_audio_ended=None,
            video_processor_factory=None, audio_processor_factory=None, async_processing=True,
            video_receiver_size=4, audio_receiver_size=4, sendback_video=False, sendback_audio=True,
            loop=loop, relay=MediaRelay(),
        )
        await self.client.setLocalDescription(await self.client.createOffer())
        answer = await asyncio.to_thread(self.worker.process_offer, self.client.localDescription.sdp,
                                         self.client.localDescription.type, 10)
        await self.client.setRemoteDescription(answer)
        return self

    async def _record(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if self.audio_flowing_at is None:
                self.audio_flowing_at = now
            samples = frame.to_ndarray().reshape(-1)
            if len(frame.layout.channels) > 1:
                samples = samples.reshape(-1, len(frame.layout.channels)).mean(axis=1).astype(np.int16)
            self.recording.frames.append((now, samples))

    async def until(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.05)
        return predicate()

    async def __aexit__(self, *exc) -> None:
        await asyncio.to_thread(self.session.stop)
        await asyncio.to_thread(self.worker.stop, 2.0)
        await self.client.close()
        if getattr(self, "_reader", None) is not None:
            self._reader.cancel()
        await asyncio.sleep(0.2)
