"""`python -m core speak|transcribe|voices`: a clone's voice from the command line."""
from __future__ import annotations

from pathlib import Path

from core import voices
from core.cli import print_json
from core.clones import find_clone
from core.errors import InvalidInput
from core.providers.speech import read_wav


def register(subparsers) -> None:
    speak = subparsers.add_parser("speak", help="write a clone's voice saying TEXT to a WAV file")
    speak.add_argument("text", nargs="+", metavar="TEXT")
    speak.add_argument("--clone", required=True, metavar="NAME")
    speak.add_argument("--out", required=True, type=Path, metavar="FILE.wav")
    speak.add_argument("--provider", default=None, metavar="NAME", help="override the clone's voice provider")
    speak.add_argument("--voice", default=None, metavar="ID", help="override the clone's voice")
    speak.set_defaults(handler=speak_command)

    transcribe = subparsers.add_parser("transcribe", help="turn a recording into text with a clone's speech to text")
    transcribe.add_argument("file", type=Path, metavar="FILE")
    transcribe.add_argument("--clone", required=True, metavar="NAME")
    transcribe.add_argument("--json", action="store_true", help="print JSON")
    transcribe.set_defaults(handler=transcribe_command)

    listing = subparsers.add_parser("voices", help="list the voices of every configured provider")
    listing.add_argument("--search", default="", metavar="TEXT")
    listing.add_argument("--provider", default="", metavar="NAME")
    listing.add_argument("--gender", default="")
    listing.add_argument("--language", default="", metavar="CODE", help="e.g. en, hi")
    listing.add_argument("--accent", default="")
    listing.add_argument("--refresh", action="store_true", help="fetch again instead of the hour-long cache")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=voices_command)


def _clone(runtime, ref: str):
    with runtime.session() as session:
        return find_clone(session, ref)


def speak_command(runtime, args) -> int:
    clone = _clone(runtime, args.clone)
    spoken = voices.speak(runtime, " ".join(args.text), clone=clone, provider=args.provider, voice=args.voice)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(spoken.audio.wav())
    except OSError as error:
        raise InvalidInput(f"Could not write {args.out} ({error.strerror}); choose another output file.") from None
    print(f"Wrote {spoken.audio.seconds:.1f} s of {clone.name}'s voice ({spoken.provider}, {spoken.voice}) to {args.out}.")
    return 0


def transcribe_command(runtime, args) -> int:
    clone = _clone(runtime, args.clone)
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise InvalidInput(f"Could not read {args.file} ({error.strerror}); check the path.") from None
    pcm, rate = read_wav(data)
    transcript = voices.transcribe(runtime, clone, pcm, rate)
    if args.json:
        print_json({"text": transcript.text, "language": transcript.language, "seconds": round(transcript.seconds, 3),
                    "provider": clone.stt_provider})
    else:
        print(transcript.text)
    return 0


def voices_command(runtime, args) -> int:
    result = voices.gallery(runtime, refresh=args.refresh)
    chosen = voices.filter_voices(result.voices, args.search, args.provider, args.gender, args.language, args.accent)
    if args.json:
        print_json({"voices": [voice.to_dict() for voice in chosen], "sources": result.sources, "notes": result.notes})
        return 0
    for provider, note in result.notes.items():
        print(f"note: {provider}: showing the bundled list ({note})")
    for voice in chosen:
        mark = " [custom]" if voice.custom else ""
        details = ", ".join(part for part in (voice.gender, voice.accent, "/".join(voice.languages)) if part)
        print(f"{voice.provider:<11} {voice.voice_id:<24} {voice.name}{mark}  ({details})")
    if not chosen:
        print("No voices match.")
    return 0
