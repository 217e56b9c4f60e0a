"""Questions for `ask` / `search --questions FILE`: one per line, from a file or `-` (stdin).

Blank lines and lines starting with `#` are skipped. One process answers them all, so the
models load once; with --json each result is one JSON object on its own line (JSON Lines).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from core.errors import InvalidInput

MAX_QUESTIONS = 10_000


def read_questions(name: str) -> list[str]:
    if name == "-":
        text = sys.stdin.read()
    else:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidInput(f'"{path}" does not exist; give a text file with one question per line.') from None
        except IsADirectoryError:
            raise InvalidInput(f'"{path}" is a folder; give a text file with one question per line.') from None
        except UnicodeDecodeError:
            raise InvalidInput(f'"{path}" is not UTF-8 text; save it as plain text with one question per line.') from None
        except OSError as error:
            raise InvalidInput(f'"{path}" cannot be read ({error.strerror or error}); check its permissions.') from None
    questions = [" ".join(line.split()) for line in text.splitlines()]
    questions = [q for q in questions if q and not q.startswith("#")]
    if not questions:
        raise InvalidInput(f'"{name}" holds no questions; write one question per line.')
    if len(questions) > MAX_QUESTIONS:
        raise InvalidInput(f'"{name}" holds {len(questions):,} questions; split it into files of at most {MAX_QUESTIONS:,}.')
    return questions


def check_one_source(args) -> None:
    if args.questions and args.words:
        raise InvalidInput("Give either a question or --questions FILE, not both.")
    if not args.questions and not args.words:
        raise InvalidInput("Give a question, or --questions FILE with one question per line.")


def json_line(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
