"""`python -m core call`: one voice turn from a WAV file through the call's pipeline
(VAD, speech to text, the chat turn, the clone's voice)."""
from __future__ import annotations

import time
import wave
import io
from pathlib import Path

import numpy as np

from core.call.buffer import RATE as REPLY_RATE
from core.call.turn import SPEECH_RATE, VoiceTurn, ms_between, transcribe, warm_up
from core.call.vad import END, SileroVAD, TurnDetector, TurnRules, windows
from core.cli import print_json
from core.clones import find_clone
from core.errors import InvalidInput
from core.providers.speech import decode_audio, wav_bytes

MAX_SECONDS = 60.0
TIMINGS = ("speech", "stt", "retrieval", "first_token", "first_audio", "total")


def register(subparsers) -> None:
    call = subparsers.add_parser("call", help="one voice turn from a WAV file: VAD, speech to text, answer, voice")
    call.add_argument("--clone", required=True, metavar="NAME")
    call.add_argument("--in", dest="infile", required=True, type=Path, metavar="QUESTION.wav")
    call.add_argument("--out", type=Path, default=None, metavar="ANSWER.wav", help="write the spoken answer here")
    call.add_argument("--thread", default=None, metavar="ID", help="continue this conversation")
    call.add_argument("--json", action="store_true", help="print JSON")
    call.set_defaults(handler=call_command)


def read_question(path: Path) -> np.ndarray:
    """The recording as 16 kHz mono int16, or one plain error for a file that is not usable."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"Could not read {path} ({error.strerror}); check the path.") from None
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            seconds = wav.getnframes() / float(wav.getframerate() or 1)
    except (wave.Error, EOFError):
        raise InvalidInput(f"{path.name} is not a WAV recording; record the question as a .wav file.") from None
    if seconds > MAX_SECONDS:
        raise InvalidInput(f"{path.name} is {seconds:.0f} s long; keep a question under {MAX_SECONDS:.0f} s.")
    pcm, _ = decode_audio(data, SPEECH_RATE)
    return np.frombuffer(pcm, dtype="<i2")


def first_turn(samples: np.ndarray, rules: TurnRules) -> tuple[np.ndarray, float]:
    """The first spoken turn, as the call would cut it, and its speech length in seconds."""
    padded = np.concatenate([samples, np.zeros(int(SPEECH_RATE * (rules.patience + 0.2)), dtype=np.int16)])
    detector, vad = TurnDetector(rules), SileroVAD()
    for window in windows(padded):
        if END in detector.feed(window, vad(window)):
            if detector.ended_by_limit:
                raise InvalidInput(f"The question runs past {rules.max_turn:.0f} s without a pause; ask a shorter one.")
            speech = detector.speech_seconds()
            return detector.take(), speech
    raise InvalidInput("No speech was found in that recording; check that it is not silent.")


def call_command(runtime, args) -> int:
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
    samples = read_question(args.infile)
    rules = TurnRules()
    warm_up(runtime, clone)
    audio, speech = first_turn(samples, rules)
    ended_at = time.monotonic()
    text = transcribe(runtime, clone, audio)
    stt_ms = ms_between(ended_at, time.monotonic())
    if not text.strip():
        raise InvalidInput("No words could be made out in that recording; speak closer to the microphone.")
    spoken: list[np.ndarray] = []
    first: list[float] = []

    def play(pcm: np.ndarray) -> None:
        if not first and np.any(pcm):
            first.append(time.monotonic())
        spoken.append(pcm)

    turn = VoiceTurn(runtime, clone, args.thread, play, lambda: first[0] if first else None)
    reply = turn.answer(text, ended_at, speech * 1000, stt_ms)
    if reply.error:
        raise InvalidInput(reply.error)
    message = reply.message
    if args.out is not None:
        pcm = np.concatenate(spoken) if spoken else np.zeros(0, dtype=np.int16)
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_bytes(wav_bytes(pcm, REPLY_RATE))
        except OSError as error:
            raise InvalidInput(f"Could not write {args.out} ({error.strerror}); choose another output file.") from None
    timings = message.timings if message else reply.timings
    result = {
        "transcript": reply.transcript,
        "answer": message.content if message else "",
        "thread_id": reply.thread_id,
        "citations": [{k: c[k] for k in ("n", "document", "page", "text", "score", "cited")} for c in reply.citations],
        "timings_ms": {key: timings.get(key) for key in TIMINGS},
        "status": message.status if message else "error",
    }
    if args.json:
        print_json(result)
    else:
        print(f"You: {result['transcript']}\n{clone.name}: {result['answer']}")
        if args.out is not None:
            print(f"Wrote the spoken answer to {args.out}.")
    return 0
