"""`python -m core ingest --clone NAME FILE...` (finishing first what a crash left stuck) and
`python -m core search --clone NAME [--k 5] --json QUERY` (or `--questions FILE`: every line searched in one
process, one JSON object per line)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from core.cli import print_json
from core.cli.batch import check_one_source, json_line, read_questions
from core.errors import IngestError


def register(subparsers) -> None:
    ingest = subparsers.add_parser("ingest", help="add files to a clone's knowledge (waits until each is ready or failed)")
    ingest.add_argument("--clone", required=True, metavar="NAME", help="clone name, slug or id")
    ingest.add_argument("files", nargs="+", metavar="FILE", type=Path)
    ingest.set_defaults(handler=ingest_command)

    search = subparsers.add_parser("search", help="show what retrieval returns for a query")
    search.add_argument("--clone", required=True, metavar="NAME", help="clone name, slug or id")
    search.add_argument("--k", type=int, default=None, metavar="N", help="number of passages (default: the clone's top k)")
    search.add_argument("--vector-only", action="store_true", help="skip full-text search")
    search.add_argument("--json", action="store_true", help="print JSON (with --questions: one object per line)")
    search.add_argument("--questions", default=None, metavar="FILE", help="search every line of FILE (- for stdin)")
    search.add_argument("words", nargs="*", metavar="QUERY")
    search.set_defaults(handler=search_command)


def _clone(runtime, ref: str):
    from core.clones import find_clone

    with runtime.session() as session:
        return find_clone(session, ref)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IngestError(f'"{path}" does not exist; check the path.') from None
    except IsADirectoryError:
        raise IngestError(f'"{path}" is a folder; name the files inside it instead.') from None
    except OSError as error:
        raise IngestError(f'"{path}" cannot be read ({error.strerror or error}); check its permissions.') from None


def _outcome(document) -> str:
    if document.status == "processing":
        return f"failed  {document.filename}: still processing; run `python -m core documents retry` later"
    if document.status != "ready":
        return f"failed  {document.filename}: {document.error}"
    pages = f", {document.pages} pages" if document.pages else ""
    return f"ready   {document.filename}: {document.chunk_count} chunks{pages}"


RESUMED = "  (finished after an interruption)"


def finish_interrupted(runtime) -> list:
    """Finish (or fail) what start-up recovery found stuck before the command exits, instead of
    abandoning it when the process ends; returns those documents as they ended."""
    from core.knowledge.ingest import finish_resumed

    done = finish_resumed(runtime, runtime.resumed_documents)
    runtime.resumed_documents = []
    return done


def ingest_command(runtime, args) -> int:
    from core.knowledge.ingest import ingest_now

    clone = _clone(runtime, args.clone)
    resumed = finish_interrupted(runtime)
    finished = {d.sha256: d for d in resumed if d.clone_id == clone.id and d.status == "ready"}
    for document in resumed:  # stuck work of other files: reported, not this command's failure
        if document not in finished.values():
            print(_outcome(document) + RESUMED, flush=True)
    failed = 0
    for path in args.files:
        try:
            data = _read(path)
            twin = finished.pop(hashlib.sha256(data).hexdigest(), None)  # the file a crash left stuck, now ready
            line = _outcome(twin) + RESUMED if twin else _outcome(ingest_now(runtime, clone.id, path.name, data))
        except IngestError as error:
            line = f"failed  {path.name}: {error}"
        failed += line.startswith("failed")
        print(line, flush=True)
    for document in finished.values():
        print(_outcome(document) + RESUMED, flush=True)
    return 1 if failed else 0


def passage_json(source) -> dict:
    """One passage as `search --json` prints it, with why it ranked where it did."""
    return {
        "n": source.n, "document": source.document, "page": source.page, "heading": source.heading,
        "text": source.text, "score": round(source.score, 4), "vector_rank": source.vector_rank,
        "text_rank": source.text_rank, "fused": round(source.fused, 6), "rerank": round(source.rerank, 4),
    }


def search_command(runtime, args) -> int:
    from core.knowledge.search import retrieve

    check_one_source(args)
    queries = read_questions(args.questions) if args.questions else [" ".join(args.words)]
    clone = _clone(runtime, args.clone)
    for query in queries:
        result = retrieve(runtime, clone, query, k=args.k, hybrid=False if args.vector_only else None)
        data = {"results": [passage_json(s) for s in result.sources], "timings_ms": result.timings_ms}
        if args.questions and args.json:
            json_line({"query": query, **data})
        elif args.json:
            print_json(data)
        else:
            _print_passages(query if args.questions else None, result.sources)
    return 0


def _print_passages(query, sources) -> None:
    if query:
        print(f"Q: {query}")
    if not sources:
        print("No passages matched.")
    for source in sources:
        where = f"{source.document}, p. {source.page}" if source.page else source.document
        ranks = f"vector #{source.vector_rank or '-'}, text #{source.text_rank or '-'}, rerank {source.rerank:.3f}"
        print(f"[{source.n}] {source.score:.3f}  {where}  ({ranks})\n    {' '.join(source.text.split())[:300]}")
    if query:
        print()
