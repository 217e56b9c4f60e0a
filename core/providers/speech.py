"""The speech contracts: text to speech (TTS) and speech to text (STT), plus their registries.

A TTS streams `AudioChunk`s, one or more per sentence, so playback can start before a long
answer has been synthesised. An STT turns mono audio into a `Transcript`. Vendor modules
register themselves with `@register_tts` / `@register_stt`; errors raise subclasses of
`core.errors.ProviderError` with a plain sentence.
"""
from __future__ import annotations

import importlib
import io
import re
import wave
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Iterable, Iterator

import numpy as np

from core.errors import InvalidInput

PCM = "audio/pcm"  # signed 16-bit little-endian, mono
WAV = "audio/wav"

_TTS: dict[str, type["TTS"]] = {}
_STT: dict[str, type["STT"]] = {}
_MODULES = (
    "core.providers.tts_offline",
    "core.providers.stt_offline",
    "core.providers.tts_elevenlabs",
    "core.providers.stt_elevenlabs",
    "core.providers.tts_sarvam",
    "core.providers.stt_sarvam",
    "core.providers.tts_openai",
    "core.providers.stt_openai",
)


@dataclass(frozen=True)
class AudioChunk:
    """Audio for (part of) one sentence: PCM16 mono when `mime` is PCM, else encoded bytes."""

    data: bytes
    sample_rate: int = 0
    mime: str = PCM
    text: str = ""  # the sentence this chunk belongs to (set on its first chunk)

    @property
    def is_pcm(self) -> bool:
        return self.mime == PCM

    @property
    def seconds(self) -> float:
        return len(self.data) / 2 / self.sample_rate if self.is_pcm and self.sample_rate else 0.0


@dataclass(frozen=True)
class Voice:
    provider: str
    voice_id: str
    name: str
    gender: str = ""  # female / male / neutral, or "" when the provider does not say
    languages: tuple[str, ...] = ()  # ISO 639-1 codes, e.g. ("en", "hi")
    accent: str = ""
    description: str = ""
    category: str = ""  # premade / cloned / generated / professional / builtin
    custom: bool = False  # the user's own (cloned or designed) voice
    preview_url: str = ""

    def to_dict(self) -> dict:
        data = asdict(self)
        data["languages"] = list(self.languages)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Voice":
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["languages"] = tuple(known.get("languages") or ())
        return cls(**known)


@dataclass(frozen=True)
class Tuning:
    """One voice setting on the provider's own scale, as a slider shows it."""

    key: str
    label: str
    minimum: float
    maximum: float
    default: float
    step: float
    help: str = ""


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str = ""
    seconds: float = 0.0  # length of the audio transcribed
    segments: tuple = field(default_factory=tuple)


def clamp_settings(tunings: Iterable[Tuning], settings: dict | None) -> dict:
    """Every tuning present once, on its scale; unknown keys are dropped."""
    settings = settings or {}
    values = {}
    for tuning in tunings:
        raw = settings.get(tuning.key, tuning.default)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InvalidInput(f"The voice setting '{tuning.label}' must be a number.") from None
        values[tuning.key] = min(tuning.maximum, max(tuning.minimum, value))
    return values


class TTS:
    name: ClassVar[str]
    label: ClassVar[str]
    offline: ClassVar[bool] = False
    streaming: ClassVar[bool] = True  # audio arrives in pieces while a sentence is synthesised
    needs_key: ClassVar[str | None] = None  # the key name for core.keys, None when offline
    tunings: ClassVar[tuple[Tuning, ...]] = ()
    languages: ClassVar[tuple[str, ...]] = ()  # target languages a user may pick (settings["language"])
    default_voice: ClassVar[str] = ""

    def __init__(self, runtime: Any = None):
        self.runtime = runtime

    def list_voices(self) -> list[Voice]:
        raise NotImplementedError

    def stream(self, text: str, voice: str = "", settings: dict | None = None, language: str = "") -> Iterator[AudioChunk]:
        """Audio for `text`, sentence by sentence."""
        raise NotImplementedError

    def settings(self, settings: dict | None) -> dict:
        """The tunings on their scales, plus a target language when this provider offers a choice."""
        values = clamp_settings(self.tunings, settings)
        language = (settings or {}).get("language")
        if language and self.languages:
            if language not in self.languages:
                raise InvalidInput(f"{self.label} cannot speak '{language}'; choose one of {', '.join(self.languages)}.")
            values["language"] = language
        return values


class STT:
    name: ClassVar[str]
    label: ClassVar[str]
    offline: ClassVar[bool] = False
    needs_key: ClassVar[str | None] = None

    def __init__(self, runtime: Any = None):
        self.runtime = runtime

    def transcribe(self, audio: bytes | np.ndarray, sample_rate: int, language: str | None = None) -> Transcript:
        """`audio` is mono PCM16 bytes, or a mono int16 / float32 array, at `sample_rate`."""
        raise NotImplementedError


def register_tts(cls: type[TTS]) -> type[TTS]:
    _TTS[cls.name] = cls
    return cls


def register_stt(cls: type[STT]) -> type[STT]:
    _STT[cls.name] = cls
    return cls


def _load_modules() -> None:
    for module in _MODULES:
        importlib.import_module(module)


def tts_classes() -> dict[str, type[TTS]]:
    _load_modules()
    return dict(sorted(_TTS.items(), key=lambda item: (not item[1].offline, item[0])))


def stt_classes() -> dict[str, type[STT]]:
    _load_modules()
    return dict(sorted(_STT.items(), key=lambda item: (not item[1].offline, item[0])))


def tts_names() -> list[str]:
    return list(tts_classes())


def stt_names() -> list[str]:
    return list(stt_classes())


def get_tts(name: str, runtime: Any = None) -> TTS:
    classes = tts_classes()
    if name not in classes:
        raise InvalidInput(f"There is no voice provider called '{name}'; choose one of {', '.join(classes)}.")
    return classes[name](runtime)


def get_stt(name: str, runtime: Any = None) -> STT:
    classes = stt_classes()
    if name not in classes:
        raise InvalidInput(f"There is no speech-to-text provider called '{name}'; choose one of {', '.join(classes)}.")
    return classes[name](runtime)


# --- text: what to say, sentence by sentence --------------------------------------------

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e eg ie fig no vol approx inc ltd co dept est min max".split()
)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n")
_BLOCK = re.compile(r"[ \t]*(?:#{1,6}|[-*•]|\d+[.)])[ \t]")  # a heading or list item starts the line
_BLOCK_OR_BLANK = re.compile(r"[ \t]*(?:\n|(?:#{1,6}|[-*•]|\d+[.)])[ \t])")
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MARKUP = re.compile(r"(\*\*|__|`+|^#{1,6}\s+|^\s*[-*•]\s+|^\s*>\s*)", re.MULTILINE)
MAX_SENTENCE = 240


def speakable(text: str) -> str:
    """Text as it should be read aloud: no citation markers, links or Markdown marks."""
    text = _LINK.sub(r"\1", text)
    text = _CITATION.sub("", text)
    text = _MARKUP.sub("", text)
    return re.sub(r"[ \t]+", " ", text)


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the full stop ending at `end` closes an abbreviation or an initial."""
    if text[end - 1] != ".":
        return False
    word = re.search(r"(\S+)\.$", text[:end])
    if not word:
        return False
    token = word.group(1).lower().lstrip("(\"'“‘")
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _line_break(text: str, index: int) -> bool | None:
    """Whether the newline at `index` ends a sentence: after a heading or list item, or before
    one or a blank line. None while the next line has not arrived far enough to tell."""
    line = text[text.rfind("\n", 0, index) + 1 : index]
    if _BLOCK.match(line):
        return True
    rest = text[index + 1 :]
    if _BLOCK_OR_BLANK.match(rest):
        return True
    return None if "\n" not in rest and len(rest.strip()) < 3 else False


def _split_long(sentence: str) -> list[str]:
    """Cut a very long sentence at clause breaks so its audio does not start late."""
    parts: list[str] = []
    while len(sentence) > MAX_SENTENCE:
        cut = max(sentence.rfind(mark, 0, MAX_SENTENCE) for mark in (", ", "; ", ": ", " - ", " – "))
        if cut <= 0:
            cut = sentence.rfind(" ", 0, MAX_SENTENCE)
        if cut <= 0:
            break
        parts.append(sentence[: cut + 1].strip())
        sentence = sentence[cut + 1 :].strip()
    return parts + [sentence] if sentence else parts


class SentenceBuffer:
    """Collects streamed text and hands back each sentence as soon as it is complete.

    A sentence is complete once the text after its final punctuation has started (a space
    or newline), so "3.5" or "e.g. this" are never cut in the middle.
    """

    def __init__(self) -> None:
        self._text = ""

    def feed(self, text: str) -> list[str]:
        self._text += text
        sentences: list[str] = []
        start = 0
        for match in _BOUNDARY.finditer(self._text):
            if match.group() == "\n":
                ends = _line_break(self._text, match.start())
                if ends is None:
                    break
                if not ends:
                    continue
            elif _is_abbreviation(self._text, match.end()):
                continue
            sentences.extend(self._clean(self._text[start : match.end()]))
            start = match.end()
        self._text = self._text[start:]
        return sentences

    def flush(self) -> list[str]:
        rest, self._text = self._text, ""
        return self._clean(rest)

    @staticmethod
    def _clean(piece: str) -> list[str]:
        sentence = " ".join(speakable(piece).split())
        return _split_long(sentence) if re.search(r"\w", sentence) else []


def split_sentences(text: str) -> list[str]:
    buffer = SentenceBuffer()
    return buffer.feed(text) + buffer.flush()


def speak_stream(
    tts: TTS, deltas: Iterable[str], voice: str = "", settings: dict | None = None, language: str = ""
) -> Iterator[AudioChunk]:
    """Speak text that is still being written (an answer streaming from a model), sentence by sentence."""
    buffer = SentenceBuffer()
    for delta in deltas:
        for sentence in buffer.feed(delta):
            yield from tts.stream(sentence, voice, settings, language)
    for sentence in buffer.flush():
        yield from tts.stream(sentence, voice, settings, language)


# --- audio: PCM16 mono, WAV files ------------------------------------------------------


def to_int16(audio: bytes | np.ndarray) -> np.ndarray:
    """Mono PCM16 bytes, or an int16 / float (-1..1) array, as int16 samples."""
    if isinstance(audio, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(audio), dtype="<i2")
    array = np.asarray(audio)
    if array.dtype == np.int16:
        return array.reshape(-1)
    return (np.clip(array.reshape(-1).astype(np.float32), -1.0, 1.0) * 32767).astype(np.int16)


def pcm_chunks(pieces, sample_rate: int, sentence: str) -> Iterator[AudioChunk]:
    """PCM16 chunks from network pieces, never splitting a sample between two chunks."""
    carry = b""
    for piece in pieces:
        data = carry + piece
        whole = len(data) - len(data) % 2
        carry = data[whole:]
        if whole:
            yield AudioChunk(data[:whole], sample_rate, text=sentence)


def to_float32(audio: bytes | np.ndarray) -> np.ndarray:
    return to_int16(audio).astype(np.float32) / 32768.0


def wav_bytes(pcm: bytes | np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(to_int16(pcm).astype("<i2").tobytes())
    return buffer.getvalue()


def read_wav(data: bytes) -> tuple[bytes, int]:
    """PCM16 mono bytes and sample rate of a WAV file (stereo is averaged, other widths decoded)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        return decode_audio(data)
    if width != 2:
        return decode_audio(data)
    samples = np.frombuffer(frames, dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples.tobytes(), rate


def decode_audio(data: bytes, sample_rate: int | None = None) -> tuple[bytes, int]:
    """Decode any container / codec FFmpeg knows (MP3, Ogg, FLAC, WebM, ...) to PCM16 mono."""
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.audio[0]
            rate = sample_rate or stream.rate
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            pieces = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(stream)
                for out in resampler.resample(frame)
            ]
            pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except (av.error.FFmpegError, IndexError):
        raise InvalidInput("That audio could not be read; use a WAV, MP3, Ogg or FLAC file.") from None
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    return samples.astype("<i2").tobytes(), rate


@dataclass(frozen=True)
class Audio:
    """A whole utterance, joined from its chunks."""

    data: bytes
    sample_rate: int
    mime: str = PCM

    @property
    def seconds(self) -> float:
        if self.mime == PCM:
            return len(self.data) / 2 / self.sample_rate if self.sample_rate else 0.0
        return len(self.pcm()) / 2 / self.sample_rate if self.sample_rate else 0.0

    def pcm(self) -> bytes:
        if self.mime == PCM:
            return self.data
        return read_wav(self.data)[0] if self.mime == WAV else decode_audio(self.data, self.sample_rate or None)[0]

    def wav(self) -> bytes:
        if self.mime == WAV:
            return self.data
        if self.mime == PCM:
            return wav_bytes(self.data, self.sample_rate)
        pcm, rate = decode_audio(self.data, self.sample_rate or None)
        return wav_bytes(pcm, rate)


def join_audio(chunks: Iterable[AudioChunk]) -> Audio:
    """All chunks of one utterance as one `Audio`: PCM joined sample by sample, stream codecs concatenated."""
    chunks = list(chunks)
    if not chunks:
        return Audio(b"", 0)
    first = chunks[0]
    uniform = all(chunk.mime == first.mime and chunk.sample_rate == first.sample_rate for chunk in chunks)
    if uniform and (first.mime != WAV or len(chunks) == 1):
        return Audio(b"".join(chunk.data for chunk in chunks), first.sample_rate, first.mime)
    wavs = [Audio(chunk.data, chunk.sample_rate, chunk.mime).wav() for chunk in chunks]
    rate = first.sample_rate or read_wav(wavs[0])[1]
    return Audio(b"".join(decode_audio(data, rate)[0] for data in wavs), rate)


def write_wav(path, chunks: Iterable[AudioChunk]) -> Audio:
    audio = join_audio(chunks)
    with open(path, "wb") as handle:
        handle.write(audio.wav())
    return audio
