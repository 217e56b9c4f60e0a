"""Whisper tiny.en on one short call turn, with the encoder's context cut to the turn.

faster-whisper pads every input to Whisper's 30 s window (3000 mel frames), and the encoder's
cost grows with it: on two cores a 2 s question took ~400 ms of encoder time for 28 s of
padding. CTranslate2's encoder accepts a shorter window, so a turn is encoded with the
least window that holds it (10 s, else the turn plus 1 s, in 5 s steps): ~40 ms instead of
~400. On 32 recorded utterances (16 questions, Piper and espeak-ng voices) the words were
nearly the same (summed word error 4.5 against 3.7 for the full window; each voice's hard names
such as "Heron Ridge" were misheard by both). Under 10 s of context Whisper starts repeating
short words ("Okay. Okay. ..."), hence the floor.

A doubtful result (repetition, a decode that ran into its length cap, a low average log
probability that is not silence) is decoded again the standard way, over the full window.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np

FRAMES_PER_SECOND = 100  # mel frames (10 ms hop)
MIN_CONTEXT = 1000  # 10 s
STEP = 500
MAX_CONTEXT = 3000  # Whisper's own window (30 s)
MARGIN = 100  # frames of padding kept after the turn
TOKENS_PER_SECOND = 8  # cap on decoded tokens (speech is ~3-4 tokens a second)
NO_SPEECH = 0.6  # faster-whisper's thresholds for "this was not speech"
LOW_LOGPROB = -1.0
MAX_COMPRESSION = 2.4

_WORD = re.compile(r"\w")


@dataclass
class Decoded:
    text: str
    no_speech: float
    avg_logprob: float
    compression: float
    capped: bool

    @property
    def silent(self) -> bool:
        return (self.no_speech > NO_SPEECH and self.avg_logprob < LOW_LOGPROB) or not _WORD.search(self.text)

    @property
    def doubtful(self) -> bool:
        return self.capped or self.compression > MAX_COMPRESSION or self.avg_logprob < LOW_LOGPROB


def context_frames(frames: int) -> int:
    """The encoder window for a turn of `frames` mel frames (0 when it needs the full path)."""
    if frames + MARGIN > MAX_CONTEXT:
        return 0
    return min(MAX_CONTEXT, max(MIN_CONTEXT, -(-(frames + MARGIN) // STEP) * STEP))


_parts_lock = threading.Lock()
_parts: dict[int, tuple] = {}


def _prompt(model) -> tuple:
    """(tokenizer, prompt tokens, suppressed tokens) for English transcription without timestamps."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    with _parts_lock:
        found = _parts.get(id(model))
        if found is None:
            tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
            prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
            found = _parts[id(model)] = (tokenizer, prompt, get_suppressed_tokens(tokenizer, [-1]))
        return found


def decode_short(model, audio: np.ndarray) -> Decoded | None:
    """Greedy decode of float32 16 kHz `audio` over a cut window; None when it is too long for one."""
    import ctranslate2
    from faster_whisper.transcribe import get_compression_ratio

    features = model.feature_extractor(audio)
    frames = context_frames(features.shape[-1])
    if not frames:
        return None
    padded = np.zeros((features.shape[0], frames), dtype=np.float32)
    padded[:, : features.shape[-1]] = features
    encoded = model.model.encode(ctranslate2.StorageView.from_array(padded[None]), to_cpu=False)
    tokenizer, prompt, suppressed = _prompt(model)
    cap = int(TOKENS_PER_SECOND * features.shape[-1] / FRAMES_PER_SECOND) + 10
    result = model.model.generate(encoded, [prompt], beam_size=1, max_length=len(prompt) + cap, return_scores=True,
                                  return_no_speech_prob=True, suppress_blank=True, suppress_tokens=suppressed)[0]
    tokens = result.sequences_ids[0]
    text = tokenizer.decode(tokens).strip()
    return Decoded(" ".join(text.split()), float(result.no_speech_prob), result.scores[0] * len(tokens) / (len(tokens) + 1),
                   get_compression_ratio(text) if text else 0.0, len(tokens) >= cap)


def decode_full(model, audio: np.ndarray) -> str:
    """faster-whisper's own transcription (30 s windows, temperature fallback), greedy."""
    segments, _ = model.transcribe(audio, language="en", beam_size=1, condition_on_previous_text=False,
                                   without_timestamps=True, vad_filter=False)
    return " ".join(" ".join(segment.text for segment in segments).split())


def transcribe_turn(model, audio: np.ndarray) -> str:
    """One turn's words ("" for silence or noise)."""
    if not audio.size:
        return ""
    decoded = decode_short(model, audio)
    if decoded is not None and decoded.silent:
        return ""
    text = decode_full(model, audio) if decoded is None or decoded.doubtful else decoded.text
    return text if _WORD.search(text) else ""
