"""`python -m core ask --clone NAME [--thread ID] [--json] QUESTION` and
`python -m core ask --clone NAME --questions FILE [--json]` (one answer per question, JSON Lines)."""
from __future__ import annotations

import sys

from core.cli import print_json
from core.cli.batch import check_one_source, json_line, read_questions


def register(subparsers) -> None:
    parser = subparsers.add_parser("ask", help="ask a clone a question (or every question in a file)")
    parser.add_argument("--clone", required=True, metavar="NAME")
    parser.add_argument("--thread", default=None, metavar="ID", help="continue this chat thread")
    parser.add_argument("--json", action="store_true", help="print the answer, citations and timings as JSON")
    parser.add_argument("--questions", default=None, metavar="FILE",
                        help="answer every line of FILE (- for stdin) in one process; with --json, one JSON object per line")
    parser.add_argument("--provider", default=None, help="override the clone's model provider")
    parser.add_argument("--model", default=None, help="override the clone's model")
    parser.add_argument("words", nargs="*", metavar="QUESTION")
    parser.set_defaults(handler=ask_command)


def ask_command(runtime, args) -> int:
    from core.chat import answer
    from core.clones import find_clone

    check_one_source(args)
    questions = read_questions(args.questions) if args.questions else None
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
    options = {"provider": args.provider, "model": args.model}
    if questions is not None:
        return _batch(runtime, clone.id, questions, args, options)
    question = " ".join(args.words)
    if args.json:
        result = answer(runtime, clone.id, question, args.thread, **options)
        print_json(result)
        if result["error"]:
            print(f"error: {result['error']}", file=sys.stderr)
        return 0 if result["status"] != "error" else 1
    return _stream(runtime, clone.id, question, args.thread, options)


def _batch(runtime, clone_id: str, questions: list[str], args, options) -> int:
    """Each question in its own thread (unless --thread), answered in turn; errors don't stop the run."""
    from core.chat import answer
    from core.errors import StudioError

    failed = 0
    for question in questions:
        try:
            result = {"question": question, **answer(runtime, clone_id, question, args.thread, **options)}
        except StudioError as error:  # a bad question (too long, …) is reported on its line
            result = {"question": question, "answer": None, "status": "error", "error": str(error)}
        failed += result["status"] == "error"
        if args.json:
            json_line(result)
        else:
            print(f"Q: {question}\n{result['answer'] or ''}\n", flush=True)
            if result["error"]:
                print(f"error: {result['error']}", file=sys.stderr)
    return 1 if failed else 0


def _stream(runtime, clone_id, question, thread_id, options) -> int:
    from core.chat import Finished, Token, ask

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
