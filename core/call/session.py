"""One live call: the per-call worker between the WebRTC tracks and the chat turn.

The media callback (`push_frame`, on aiortc's loop) only resamples to 16 kHz mono and
enqueues. The listener thread runs VAD and turn-taking, transcribes (speculatively after
0.3 s of silence, committed at the end of the turn) and hands each turn to a reply thread,
which runs the chat turn and speaks it into the reply buffer. The page polls `snapshot()`;
nothing here touches Streamlit. `stop()` ends both threads and the reply track.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from core.call.buffer import TAIL, ReplyBuffer, make_track
from core.call.turn import VoiceReply, VoiceTurn, mark_interrupted, ms_between, transcribe, warm_up
from core.call.vad import END, PAUSE, RATE, RESUMED, SPECULATE, START, WINDOW, SileroVAD, TurnDetector, TurnRules
from core.errors import StudioError

log = logging.getLogger(__name__)

QUEUE_FRAMES = 250  # about 5 s of 20 ms frames
NO_AUDIO_AFTER = 5.0
SPEAKERPHONE_TAIL = 0.3
RESUME_AFTER = 2.0  # a paused answer resumes if nothing is confirmed by then
OFFER_SPEAKERPHONE = 2  # false interruptions before the page offers speakerphone mode
BACKCHANNEL = frozenset(
    "ok okay k mhm mm mmm hmm hm uh huh uhhuh yeah yes yep yup right sure alright cool great nice i see got it "
    "oh ah uh um".split()
)
NO_AUDIO = "No sound is reaching the studio from your microphone; check that it is not muted or in use elsewhere."
UNEXPECTED = "The call stopped because of an unexpected problem; press Start to call again."

# statuses the page shows
CONNECTING, LISTENING, HEARING, THINKING, SPEAKING, ENDED = (
    "connecting", "listening", "hearing you", "thinking", "speaking", "ended")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", ""))


def is_backchannel(text: str) -> bool:
    """Empty, or only acknowledgement sounds ("ok", "mhm", "yeah right")."""
    found = words(text)
    return not found or (len(found) <= 3 and all(word in BACKCHANNEL for word in found))


def is_echo(text: str, spoken: list[str]) -> bool:
    """Most of what was heard is the clone's own recent words coming back through the microphone."""
    heard = words(text)
    said = set(words(" ".join(spoken[-3:])))
    return len(heard) >= 3 and bool(said) and sum(word in said for word in heard) / len(heard) >= 0.8


def barge_in_verdict(transcript: str, spoken: list[str]) -> str:
    """"resume" (a backchannel, noise or the clone heard back) or "interrupt"."""
    return "resume" if is_backchannel(transcript) or is_echo(transcript, spoken) else "interrupt"


@dataclass
class BargeIn:
    paused_at: float
    onset: float | None = None  # when the speech over the clone began (arrival of its audio)
    confirmed_at: float | None = None
    last_audio_at: float | None = None
    resumed: bool = False
    heard: str = ""


@dataclass
class Speculation:
    """A transcription started after `speculate_after` of silence, and the held answer to it."""

    length: int  # samples of turn audio it heard
    future: Future  # -> (transcript, monotonic time it was ready)
    ended_at: float  # the end of speech it assumes
    speech_ms: float
    turn: VoiceTurn | None = None
    transcript: str = ""
    failed: bool = False


def _timed_transcribe(runtime, clone, audio) -> tuple[str, float]:
    return transcribe(runtime, clone, audio), time.monotonic()


@dataclass
class _State:
    status: str = CONNECTING
    thread_id: str | None = None
    heard: str = ""  # the user's words of the turn being answered
    answer: str = ""  # the answer so far, as it streams
    error: str | None = None  # the call ended because of this
    notice: str | None = None  # a problem the call carries on through
    turns: int = 0
    false_interruptions: int = 0
    last_timings: dict = field(default_factory=dict)


class CallSession:
    def __init__(self, runtime, clone_id: str, thread_id: str | None = None, *, patience: float = 0.6,
                 speakerphone: bool = False, no_audio_after: float = NO_AUDIO_AFTER):
        from core.clones import get_clone

        with runtime.session() as session:
            self.clone = get_clone(session, clone_id)
        self.runtime = runtime
        self.rules = TurnRules(patience=min(1.2, max(0.4, float(patience))))
        self.speakerphone, self.muted = speakerphone, False
        self.no_audio_after = no_audio_after
        self.buffer = ReplyBuffer()
        self.track = make_track(self.buffer)
        self._frames: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self._resampler = None
        self._lock = threading.Lock()
        self._state = _State(thread_id=thread_id)
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self._reply: threading.Thread | None = None
        self._turn: VoiceTurn | None = None
        self._stt = ThreadPoolExecutor(max_workers=1, thread_name_prefix="call-stt")
        self._speculation: Speculation | None = None
        self.speculate_answers = self._free_to_speculate()
        self.started_at: float | None = None
        self.ready_at: float | None = None
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.dropped_frames = 0
        self.barge_ins: list[BargeIn] = []
        self.replies: list[VoiceReply] = []

    # ---------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        return self._listener is not None and self._listener.is_alive()

    def start(self) -> None:
        if self.running:
            return
        import av

        self._stop.clear()
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)  # fresh per call
        self.started_at = time.monotonic()
        self._listener = threading.Thread(target=self._listen, name="call-listener", daemon=True)
        self._listener.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the call: the answer in progress is saved as interrupted, threads and track stop."""
        self._stop.set()
        if self._turn is not None:
            self._turn.cancel.set()
        self.buffer.clear()
        current = threading.current_thread()
        for thread in (self._listener, self._reply):
            if thread is not None and thread is not current:
                thread.join(timeout)
        self._stt.shutdown(wait=True, cancel_futures=True)
        try:
            self.track.stop()
        except Exception:  # a track stopped twice or whose loop is gone
            log.debug("reply track stop failed", exc_info=True)
        self._set(status=ENDED)

    def _free_to_speculate(self) -> bool:
        """Answers are prepared during the pause only when that costs nothing: an offline answerer and
        voice (a dropped speculation would otherwise spend cloud tokens and characters unaccounted)."""
        from core.chat import resolve_model
        from core.providers.remote import llm_for
        from core.voices import choose_voice

        try:
            return llm_for(self.runtime, resolve_model(self.clone)[0]).offline and choose_voice(self.runtime, self.clone).tts.offline
        except Exception:  # an unknown provider: no speculation, the turn itself will say what is wrong
            log.debug("No speculative answers for this call", exc_info=True)
            return False

    # ---------------------------------------------------------------- controls (any thread)
    def set_muted(self, muted: bool) -> None:
        self.muted = bool(muted)

    def set_speakerphone(self, on: bool) -> None:
        self.speakerphone = bool(on)

    def set_patience(self, seconds: float) -> None:
        self.rules.patience = min(1.2, max(0.4, float(seconds)))

    def snapshot(self) -> dict:
        with self._lock:
            state = self._state
            data = {
                "status": state.status, "thread_id": state.thread_id, "heard": state.heard, "answer": state.answer,
                "error": state.error, "notice": state.notice, "turns": state.turns,
                "false_interruptions": state.false_interruptions, "timings": dict(state.last_timings),
            }
        data["offer_speakerphone"] = data["false_interruptions"] >= OFFER_SPEAKERPHONE and not self.speakerphone
        data["muted"], data["speakerphone"], data["running"] = self.muted, self.speakerphone, self.running
        return data

    def _set(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)

    # ---------------------------------------------------------------- media callback (aiortc's loop)
    def push_frame(self, frame) -> None:
        """Resample one browser frame (48 kHz, stereo) to 16 kHz mono and enqueue it; nothing else."""
        resampler = self._resampler
        if resampler is None or self._stop.is_set():
            return
        now = time.monotonic()
        for out in resampler.resample(frame):
            try:
                self._frames.put_nowait((now, out.to_ndarray().reshape(-1).astype(np.int16, copy=False)))
            except queue.Full:
                self.dropped_frames += 1

    def push_pcm(self, samples: np.ndarray, at: float | None = None) -> None:
        """16 kHz mono int16 samples straight in (tests, the benchmark)."""
        self._frames.put_nowait((at or time.monotonic(), np.asarray(samples, dtype=np.int16)))

    # ---------------------------------------------------------------- the listener thread
    def _listen(self) -> None:
        try:
            self._stt.submit(self._warm_up)  # transcriptions queue behind it; listening starts now
            self._set(status=LISTENING)
            self._loop(SileroVAD(), TurnDetector(self.rules))
        except Exception:
            log.exception("The call worker failed")
            self._set(error=UNEXPECTED)
        finally:
            if self._turn is not None:
                self._turn.cancel.set()
            if self._reply is not None and self._reply is not threading.current_thread():
                self._reply.join(5.0)

    def _warm_up(self) -> None:
        try:
            warm_up(self.runtime, self.clone)
        except StudioError as error:
            self._set(notice=str(error))
        except Exception:
            log.exception("Warming the call's models failed")
        self.ready_at = time.monotonic()

    def _loop(self, vad: SileroVAD, detector: TurnDetector) -> None:
        carry = np.zeros(0, dtype=np.int16)
        self._barge: BargeIn | None = None
        while not self._stop.is_set():
            self._advance_speculation()
            try:
                arrived, pcm = self._frames.get(timeout=0.02 if self._speculation else 0.1)
            except queue.Empty:
                self._check_audio()
                self._check_pause(detector)
                continue
            self._frame_arrived(arrived)
            if self.muted or (self.speakerphone and self.buffer.speaking(TAIL + SPEAKERPHONE_TAIL)):
                pcm = np.zeros_like(pcm)
            carry = np.concatenate([carry, pcm])
            while carry.size >= WINDOW and not self._stop.is_set():
                window, carry = carry[:WINDOW].astype(np.float32) / 32768.0, carry[WINDOW:]
                detector.strict = self._clone_speaking()
                for event in detector.feed(window, vad(window)):
                    self._on_event(event, detector, arrived)
            self._check_pause(detector)

    def _frame_arrived(self, arrived: float) -> None:
        if self.first_frame_at is None:
            self.first_frame_at = arrived
        self.last_frame_at = arrived
        if self.snapshot()["notice"] == NO_AUDIO:
            self._set(notice=None)

    def _check_audio(self) -> None:
        since = self.last_frame_at or self.started_at
        if since is not None and time.monotonic() - since > self.no_audio_after:
            self._set(notice=NO_AUDIO)

    def _clone_speaking(self) -> bool:
        replying = self._reply is not None and self._reply.is_alive()
        return not self.speakerphone and (self.buffer.speaking() or (replying and bool(self._turn and self._turn.spoken)))

    def _check_pause(self, detector: TurnDetector) -> None:
        barge = self._barge
        if barge and barge.confirmed_at is None and time.monotonic() - barge.paused_at > RESUME_AFTER:
            self._resume(detector, "")

    def _on_event(self, event: str, detector: TurnDetector, arrived: float) -> None:
        if event == PAUSE:
            self.buffer.pause()
            self._barge = BargeIn(time.monotonic(), onset=arrived - self.rules.pause_after)
            self._set(status=HEARING)
        elif event == RESUMED and not detector.in_turn:
            if self._barge and self._barge.confirmed_at is None:
                self._resume(detector, "")  # a short sound over the clone
        elif event == START:
            if detector.strict or self._barge:
                self._confirm_barge_in(detector)
            else:
                self._set(status=HEARING)
        elif event == SPECULATE:
            audio = detector.turn_audio()
            silence = detector._silence * (WINDOW / RATE)
            self._speculation = Speculation(len(audio), self._stt.submit(_timed_transcribe, self.runtime, self.clone, audio),
                                            arrived - silence, detector.speech_seconds() * 1000)
        elif event == RESUMED:
            self._drop_speculation()
        elif event == END:
            self._end_turn(detector, arrived)

    def _confirm_barge_in(self, detector: TurnDetector) -> None:
        barge = self._barge or BargeIn(time.monotonic())
        self._barge = barge
        turn = self._turn
        try:
            heard = self._stt.submit(transcribe, self.runtime, self.clone, detector.turn_audio()).result()
        except StudioError as error:  # no verdict without words: resume, and say why
            self._set(notice=str(error))
            heard = ""
        if barge_in_verdict(heard, turn.spoken if turn else []) == "resume":
            self._resume(detector, heard)
            return
        barge.confirmed_at, barge.heard = time.monotonic(), heard
        if turn is not None:
            turn.cancel.set()
        self.buffer.clear()
        barge.last_audio_at = self.buffer.last_audio_at
        self.barge_ins.append(barge)
        self._barge = None
        self._set(status=HEARING)

    def _resume(self, detector: TurnDetector, heard: str) -> None:
        barge, self._barge = self._barge, None
        if barge is not None:
            barge.resumed, barge.heard = True, heard
            self.barge_ins.append(barge)
        detector.cancel()
        self.buffer.resume()
        with self._lock:
            self._state.false_interruptions += 1
            self._state.status = SPEAKING if self.buffer.speaking() else LISTENING

    # ---------------------------------------------------------------- speculation (the listener thread)
    def _advance_speculation(self) -> None:
        """Once the speculative transcript is ready, start the held answer to it (nothing sent yet)."""
        speculation = self._speculation
        if speculation is None or speculation.turn is not None or speculation.failed or not self.speculate_answers:
            return
        if not speculation.future.done():
            return
        try:
            transcript, ready_at = speculation.future.result()
        except Exception:  # the committed turn transcribes again and reports the error
            speculation.failed = True
            return
        if not transcript.strip():
            speculation.failed = True
            return
        stt_ms = ms_between(speculation.ended_at, ready_at)
        speculation.transcript = transcript
        speculation.turn = self._answer(transcript, speculation.ended_at, speculation.speech_ms, stt_ms, held=True)

    def _drop_speculation(self) -> None:
        """Speech resumed: the held answer (if any) is cancelled before anything of it was sent or saved."""
        speculation, self._speculation = self._speculation, None
        if speculation is not None and speculation.turn is not None:
            speculation.turn.cancel.set()

    def _end_turn(self, detector: TurnDetector, arrived: float) -> None:
        silence = detector._silence * (WINDOW / RATE)
        ended_at = arrived - silence
        speech_ms = detector.speech_seconds() * 1000
        audio = detector.take()
        speculation, self._speculation = self._speculation, None
        confirmed = ms_between(ended_at, time.monotonic())
        covers = speculation is not None and speculation.length >= len(audio) - int(silence * RATE) - WINDOW
        if covers and speculation.turn is not None:
            self._confirm_held(speculation)
            return
        if speculation is not None and speculation.turn is not None:
            speculation.turn.cancel.set()
        self._set(status=THINKING)
        try:
            if covers:
                transcript, ready_at = speculation.future.result()
            else:
                transcript, ready_at = self._stt.submit(_timed_transcribe, self.runtime, self.clone, audio).result()
        except StudioError as error:
            self._set(status=LISTENING, notice=str(error))
            return
        stt_ms = ms_between(ended_at, ready_at)
        if not transcript.strip():
            self._set(status=LISTENING)
            return
        self._answer(transcript, ended_at, speech_ms, stt_ms, confirmed=confirmed)

    def _confirm_held(self, speculation: Speculation) -> None:
        """The pause became the end of the turn: the held answer goes out at once (or, if it failed
        while held, the turn is answered again the ordinary way, which reports the failure)."""
        self.buffer.mark()
        with self._lock:
            self._state.heard, self._state.answer, self._state.status = speculation.transcript, "", THINKING
        confirmed = ms_between(speculation.ended_at, time.monotonic())
        if not speculation.turn.confirm(confirmed=confirmed):
            stt_ms = speculation.turn.timings.get("stt", confirmed)
            self._answer(speculation.transcript, speculation.ended_at, speculation.speech_ms, stt_ms, confirmed=confirmed)

    # ---------------------------------------------------------------- the reply thread
    def _answer(self, transcript: str, ended_at: float, speech_ms: float, stt_ms: float, held: bool = False,
                confirmed: float | None = None) -> VoiceTurn:
        """Start answering `transcript` on a new reply thread (`held`: speculatively, see VoiceTurn;
        `confirmed`: end of speech -> the turn was confirmed, ms)."""
        previous = self._turn
        if previous is not None:
            previous.cancel.set()
        if self._reply is not None:
            self._reply.join()
        self.buffer.clear()
        if not held:
            self.buffer.mark()
        turn = VoiceTurn(self.runtime, self.clone, self.snapshot()["thread_id"], self.buffer.push,
                         lambda: self.buffer.first_audio_at, on_event=self._reply_event, held=held)
        if confirmed is not None:
            turn.timings["confirmed"] = confirmed
        self._turn = turn
        if not held:
            with self._lock:
                self._state.heard, self._state.answer, self._state.status = transcript, "", THINKING
        self._reply = threading.Thread(target=self._run_reply, args=(turn, transcript, ended_at, speech_ms, stt_ms),
                                       name="call-reply", daemon=True)
        self._reply.start()
        return turn

    def _reply_event(self, kind: str, value) -> None:
        if kind == "retrieved":
            self._set(thread_id=value.thread_id)
        elif kind == "speaking":
            with self._lock:
                self._state.answer = f"{self._state.answer} {value}".strip()
                self._state.status = SPEAKING

    def _run_reply(self, turn: VoiceTurn, transcript: str, ended_at: float, speech_ms: float, stt_ms: float) -> None:
        try:
            reply = turn.answer(transcript, ended_at, speech_ms, stt_ms)
            if not turn.confirmed.is_set():
                return  # a speculative answer dropped before it was confirmed: nothing of it happened
        except StudioError as error:
            if not turn.confirmed.is_set():
                return
            self._set(notice=str(error), status=LISTENING)
            return
        except Exception:
            log.exception("A call turn failed")
            self._set(notice="That answer failed; please ask again.", status=LISTENING)
            return
        with self._lock:
            self._state.thread_id = reply.thread_id or self._state.thread_id
            if reply.error:
                self._state.notice = reply.error
        self._wait_for_playout(turn)
        if turn.cancel.is_set() and reply.message is not None and reply.message.status == "complete":
            mark_interrupted(self.runtime, reply.message)  # its text was written, but not all of it was heard
        self.replies.append(reply)
        with self._lock:
            self._state.turns += 1
            self._state.last_timings = dict(reply.message.timings if reply.message else reply.timings)

    def _wait_for_playout(self, turn: VoiceTurn) -> None:
        while not self._stop.is_set() and not turn.cancel.is_set() and self.buffer.speaking():
            time.sleep(0.02)
        with self._lock:
            if self._state.status == SPEAKING:
                self._state.status = LISTENING
