"""`python -m core ask --clone NAME [--thread ID] [--json] QUESTION`."""
from __future__ import annotations

import sys

from core.chat import Finished, Token, answer, ask
from core.cli import print_json
from core.clones import find_clone


def register(subparsers) -> None:
    parser = subparsers.add_parser("ask", help="ask a clone a question")
    parser.add_argument("--clone", required=True, metavar="NAME")
    parser.add_argument("--thread", default=None, metavar="ID", help="continue this chat thread")
    parser.add_argument("--json", action="store_true", help="print the answer, citations and timings as JSON")
    parser.add_argument("--provider", default=None, help="override the clone's model provider")
    parser.add_argument("--model", default=None, help="override the clone's model")
    parser.add_argument("question", nargs="+", metavar="QUESTION")
    parser.set_defaults(handler=ask_command)


def ask_command(runtime, args) -> int:
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
    question = " ".join(args.question)
    options = {"provider": args.provider, "model": args.model}
    if args.json:
        result = answer(runtime, clone.id, question, args.thread, **options)
        print_json(result)
        if result["error"]:
            print(f"error: {result['error']}", file=sys.stderr)
        return 0 if result["status"] != "error" else 1
    return _stream(runtime, clone.id, question, args.thread, options)


def _stream(runtime, clone_id, question, thread_id, options) -> int:
    finished = None
    for event in ask(runtime, clone_id, question, thread_id, **options):
        if isinstance(event, Token):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, Finished):
            finished = event
    message = finished.message
    print()
    if message.error:
        print(f"error: {message.error}", file=sys.stderr)
    if finished.citations:
        print("\nSources:")
        for citation in finished.citations:
            print(_source_line(citation))
    print(f"\nThread: {message.conversation_id}")
    return 1 if message.status == "error" else 0


def _source_line(citation: dict) -> str:
    page = f", page {citation['page']}" if citation["page"] else ""
    line = f"  [{citation['n']}] {citation['document']}{page} (score {citation['score']:.2f}"
    if not citation["cited"]:
        return line + ")"
    text = " ".join(part for part in citation["text"].splitlines() if part.strip() and not part.startswith("#"))
    quote = text if len(text) <= 100 else text[:100].rsplit(" ", 1)[0] + "…"
    return f"{line}, cited)\n      \"{quote}\""
