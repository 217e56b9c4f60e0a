"""One voice turn: the user's speech -> transcript -> the chat turn -> the answer spoken piece by
piece. Shared by the live call (core.call.session) and `python -m core call`."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.call.buffer import RATE
from core.call.chunker import Chunker, first_clause
from core.chat import Finished, Retrieved, StreamEnd, Token, ask
from core.errors import StudioError
from core.models import Clone, Message
from core.providers.speech import Audio, AudioChunk, to_int16

log = logging.getLogger(__name__)
SPEECH_RATE = 16_000


@dataclass
class VoiceReply:
    transcript: str
    thread_id: str | None = None
    message: Message | None = None
    citations: list[dict] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    error: str | None = None  # one plain sentence when the answer (or its voice) failed

    @property
    def interrupted(self) -> bool:
        return self.message is not None and self.message.status == "interrupted"


def ms_between(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)


def transcribe(runtime, clone: Clone, samples: np.ndarray) -> str:
    """Whisper (or the clone's cloud STT) on 16 kHz mono samples, as one line of text.

    Offline, a call decodes greedily (beam 1) over an encoder window cut to the turn
    (core.call.stt): the audio is one short, already segmented turn."""
    from core import voices

    if (clone.stt_provider or "offline") == "offline" and not (clone.language or "en").lower().startswith("en"):
        return voices.transcribe(runtime, clone, to_int16(samples), SPEECH_RATE).text  # raises the plain error
    if (clone.stt_provider or "offline") != "offline":
        return " ".join(voices.transcribe(runtime, clone, to_int16(samples), SPEECH_RATE).text.split())
    from core.call.stt import transcribe_turn
    from core.providers.stt_offline import whisper_model

    audio = samples.astype(np.float32) / 32768.0 if samples.dtype == np.int16 else samples.astype(np.float32)
    if not audio.size:
        return ""
    return transcribe_turn(whisper_model(), audio)


_warm_lock = threading.Lock()
_warmed: set[tuple[str, str]] = set()


def warm_up(runtime, clone: Clone) -> None:
    """Load the offline models a call needs (VAD, Whisper, Piper) once per process, so the first
    turn is not slow; callers in other threads wait for the one already loading them."""
    from core.call.vad import WINDOW, SileroVAD
    from core.voices import choose_voice

    key = (clone.stt_provider or "offline", clone.tts_provider or "offline")
    with _warm_lock:
        if key in _warmed:
            return
        SileroVAD()(np.zeros(WINDOW, dtype=np.float32))
        if key[0] == "offline" and (clone.language or "en").lower().startswith("en"):
            transcribe(runtime, clone, np.zeros(SPEECH_RATE // 2, dtype=np.float32))
        choice = choose_voice(runtime, clone)
        if choice.tts.offline:
            for _ in choice.tts.stream("Hello.", choice.voice, choice.settings, choice.language):
                pass
        _warmed.add(key)


class Resampler:
    """TTS audio (any rate, PCM or encoded) as int16 mono at the reply track's rate."""

    def __init__(self, rate: int = RATE):
        import av

        self.rate, self._av = rate, av
        self._resamplers: dict[int, object] = {}

    def __call__(self, chunk: AudioChunk) -> np.ndarray:
        if chunk.is_pcm:
            pcm, rate = chunk.data, chunk.sample_rate
        else:
            audio = Audio(chunk.data, chunk.sample_rate, chunk.mime)
            pcm, rate = audio.pcm(), audio.sample_rate or self.rate
        samples = np.frombuffer(pcm, dtype="<i2")
        if rate == self.rate or not samples.size:
            return samples.copy()
        resampler = self._resamplers.get(rate)
        if resampler is None:
            resampler = self._resamplers[rate] = self._av.AudioResampler(format="s16", layout="mono", rate=self.rate)
        frame = self._av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)


class VoiceTurn:
    """Answers one transcript aloud. `play(samples)` takes int16 audio at RATE; `first_audio()`
    returns the monotonic time the first audio frame went out (None while it has not);
    `cancel` (set by a barge-in) stops the answer, which is saved as interrupted.

    A `held` turn is speculative (the user has paused but the turn is not over): it retrieves,
    streams the answer and synthesizes its audio at once, but plays nothing, reports nothing
    and saves nothing until `confirm()`, which sends the audio made so far at once; `cancel`
    before that (the user spoke again) drops it without a trace."""

    def __init__(self, runtime, clone: Clone, thread_id: str | None, play: Callable[[np.ndarray], None],
                 first_audio: Callable[[], float | None], cancel: threading.Event | None = None,
                 on_event: Callable[[str, object], None] | None = None, held: bool = False):
        from core.voices import choose_voice

        self.runtime, self.clone, self.thread_id = runtime, clone, thread_id
        self._play, self.first_audio = play, first_audio
        self.cancel = cancel or threading.Event()
        self.on_event = on_event or (lambda kind, value: None)
        self.voice = choose_voice(runtime, clone)
        self.confirmed = threading.Event()
        if not held:
            self.confirmed.set()
        self.timings: dict = {}
        self.ready_at: float | None = None  # when the first audio was synthesized (held or not)
        self._gate = threading.Lock()
        self._held_audio: list[np.ndarray] = []
        self._held_events: list[tuple[str, object]] = []
        self._pieces: list[str] = []
        self.finished = False  # answer() has returned

    @property
    def spoken(self) -> list[str]:
        """The pieces said so far (to recognise the clone's own words heard back); none while held."""
        return self._pieces if self.confirmed.is_set() else []

    def confirm(self, **timings: float) -> bool:
        """The turn is over: send the held audio and events, let the answer be saved (with `timings`).
        False when it is too late: the held answer already ended (it failed before it was confirmed)."""
        with self._gate:
            if self.finished and not self.confirmed.is_set():
                return False
            self.timings.update(timings)
            self.confirmed.set()
            events, self._held_events = self._held_events, []
            audio, self._held_audio = self._held_audio, []
            for samples in audio:
                self._play(samples)
        for kind, value in events:
            self.on_event(kind, value)
        return True

    def play(self, samples: np.ndarray) -> None:
        with self._gate:
            if self.ready_at is None:
                self.ready_at = time.monotonic()
            if self.confirmed.is_set():
                self._play(samples)
            else:
                self._held_audio.append(samples)

    def _emit(self, kind: str, value) -> None:
        with self._gate:
            if not self.confirmed.is_set():
                self._held_events.append((kind, value))
                return
        self.on_event(kind, value)

    def answer(self, transcript: str, ended_at: float, speech_ms: float, stt_ms: float) -> VoiceReply:
        try:
            return self._answer(transcript, ended_at, speech_ms, stt_ms)
        finally:
            with self._gate:
                self.finished = True

    def _answer(self, transcript: str, ended_at: float, speech_ms: float, stt_ms: float) -> VoiceReply:
        timings = self.timings
        timings.update({"speech": round(speech_ms, 1), "stt": round(stt_ms, 1),
                        "answer_start": ms_between(ended_at, time.monotonic())})
        reply = VoiceReply(transcript, self.thread_id, timings=timings)
        chunker, resample = Chunker(), Resampler()
        events = ask(self.runtime, self.clone.id, transcript, self.thread_id, voice=True, cancel=self.cancel,
                     timings=timings, confirmed=None if self.confirmed.is_set() else self.confirmed)
        try:
            for event in events:
                if isinstance(event, Retrieved):
                    reply.thread_id = event.thread_id
                    self._emit("retrieved", event)
                elif isinstance(event, Token):
                    for piece in chunker.feed(event.text):
                        self._say(piece, resample, ended_at, timings)
                elif isinstance(event, StreamEnd):  # the last piece need not wait for the answer to be saved
                    for piece in chunker.flush():
                        self._say(piece, resample, ended_at, timings)
                elif isinstance(event, Finished):
                    reply.message, reply.citations = event.message, event.citations
            if reply.message is not None and reply.message.status == "complete":
                for piece in chunker.flush():
                    self._say(piece, resample, ended_at, timings)
        except StudioError as error:  # the voice failed mid-answer: the text is saved, say why
            reply.error = str(error)
            events.close()
        finally:
            self._record_usage()
        self._settle_first_audio(reply, ended_at, timings)
        return reply

    def _say(self, piece: str, resample: Resampler, ended_at: float, timings: dict) -> None:
        if self.cancel.is_set():
            return
        parts = first_clause(piece) if not self._pieces else [piece]
        self._pieces.append(piece)
        self._emit("speaking", piece)
        for part in parts:
            for chunk in self.voice.tts.stream(part, self.voice.voice, self.voice.settings, self.voice.language):
                if self.cancel.is_set():
                    return
                self.play(resample(chunk))
                if "audio_ready" not in timings and self.ready_at is not None:
                    timings["audio_ready"] = ms_between(ended_at, self.ready_at)
                self._note_first_audio(ended_at, timings)

    def _note_first_audio(self, ended_at: float, timings: dict) -> None:
        """End of speech -> the first frame sent (only once confirmed: before that, nothing is sent)."""
        if "first_audio" not in timings and self.confirmed.is_set() and (sent := self.first_audio()) is not None:
            timings["first_audio"] = ms_between(ended_at, sent)

    def _settle_first_audio(self, reply: VoiceReply, ended_at: float, timings: dict, wait: float = 1.0) -> None:
        """The first frame may go out after the answer was saved: wait briefly, then record it."""
        deadline = time.monotonic() + wait
        while "first_audio" not in timings and self.spoken and time.monotonic() < deadline and not self.cancel.is_set():
            self._note_first_audio(ended_at, timings)
            if "first_audio" not in timings:
                time.sleep(0.01)
        message = reply.message
        if message is not None and "first_audio" in timings and message.timings.get("first_audio") is None:
            message.timings = {**message.timings, "first_audio": timings["first_audio"]}
            save_timings(self.runtime, message.id, message.timings)

    def _record_usage(self) -> None:
        from core.voices import record_tts_chars

        if not self.spoken:  # nothing said (or a speculative turn that was dropped)
            return
        try:
            record_tts_chars(self.runtime, self.voice.tts.name, sum(map(len, self.spoken)), self.clone.id,
                             self.clone.owner_id)
        except Exception:  # usage accounting must never end a call
            log.exception("Could not record the call's speech characters")


def save_timings(runtime, message_id: str, timings: dict) -> None:
    with runtime.session() as session:
        message = session.get(Message, message_id)
        if message is not None:
            message.timings = dict(timings)
            session.add(message)
            session.commit()


def mark_interrupted(runtime, message: Message) -> None:
    """An answer whose text was complete but whose speech was cut short by the user."""
    with runtime.session() as session:
        row = session.get(Message, message.id)
        if row is not None:
            row.status = "interrupted"
            session.add(row)
            session.commit()
    message.status = "interrupted"
