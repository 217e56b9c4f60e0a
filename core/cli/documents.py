"""`python -m core documents list|retry|delete --clone NAME`: a clone's knowledge documents.

`retry` processes failed documents, or documents a crash left stuck in processing, again from
their stored copy; `delete` asks first (or takes --yes).
"""
from __future__ import annotations

import sys

from core.cli import print_json
from core.cli.knowledge import RESUMED, _clone, _outcome, finish_interrupted
from core.errors import InvalidInput, NotFound, StudioError


def register(subparsers) -> None:
    parser = subparsers.add_parser("documents", help="list, retry and delete a clone's knowledge documents")
    commands = parser.add_subparsers(dest="documents_command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list a clone's documents with their status")
    listing.add_argument("--clone", required=True, metavar="NAME", help="clone name, slug or id")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)

    retry = commands.add_parser("retry", help="process failed or stuck documents again (waits until each ends)")
    retry.add_argument("--clone", required=True, metavar="NAME", help="clone name, slug or id")
    retry.add_argument("documents", nargs="*", metavar="DOCUMENT", help="id or file name (default: every failed or stuck one)")
    retry.add_argument("--json", action="store_true", help="print JSON")
    retry.set_defaults(handler=retry_command)

    delete = commands.add_parser("delete", help="delete documents with their passages and stored files")
    delete.add_argument("--clone", required=True, metavar="NAME", help="clone name, slug or id")
    delete.add_argument("documents", nargs="+", metavar="DOCUMENT", help="id or file name")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=delete_command)


def _json(document) -> dict:
    return {
        "id": document.id, "filename": document.filename, "kind": document.kind, "status": document.status,
        "error": document.error, "size": document.size, "pages": document.pages, "chunks": document.chunk_count,
        "sha256": document.sha256, "created_at": document.created_at.isoformat(),
        "updated_at": document.updated_at.isoformat() if document.updated_at else None,
    }


def _documents(runtime, clone):
    from core.knowledge.ingest import list_documents

    return list_documents(runtime, clone.id, owner_id=clone.owner_id)


def _pick(documents, refs: list[str]) -> list:
    """Documents by id or file name (a name two documents share must be given by id)."""
    picked = []
    for ref in refs:
        matches = [d for d in documents if d.id == ref] or [d for d in documents if d.filename == ref]
        if not matches:
            raise NotFound(f'No document "{ref}" in this clone; `documents list` shows their names and ids.')
        if len(matches) > 1:
            raise InvalidInput(f'Several documents are called "{ref}"; give the id instead (see `documents list`).')
        if matches[0] not in picked:
            picked.append(matches[0])
    return picked


def list_command(runtime, args) -> int:
    clone = _clone(runtime, args.clone)
    documents = _documents(runtime, clone)
    if args.json:
        print_json([_json(d) for d in documents])
        return 0
    if not documents:
        print(f"No documents in {clone.name} yet. Add some with: python -m core ingest --clone NAME FILE...")
        return 0
    width = max(len(d.filename) for d in documents)
    for d in documents:
        detail = f"{d.chunk_count} chunks" if d.status == "ready" else (d.error or "")
        print(f"{d.status:<10}  {d.filename:<{width}}  {d.id}  {detail}".rstrip())
    return 0


def retry_command(runtime, args) -> int:
    from core.knowledge.ingest import retry_document

    clone = _clone(runtime, args.clone)
    for document in finish_interrupted(runtime):
        if not args.json:
            print(_outcome(document) + RESUMED, flush=True)
    failed = 0
    documents = _documents(runtime, clone)
    targets = _pick(documents, args.documents) if args.documents else [d for d in documents if d.status != "ready"]
    results = []
    for document in targets:
        try:
            done = retry_document(runtime, document.id, owner_id=clone.owner_id)
            line, outcome = _outcome(done), _json(done)
        except StudioError as error:
            line, outcome = f"failed  {document.filename}: {error}", {**_json(document), "status": "failed", "error": str(error)}
        failed += outcome["status"] != "ready"
        results.append(outcome)
        if not args.json:
            print(line, flush=True)
    if args.json:
        print_json(results)
    elif not targets:
        print("Nothing to retry: every document is ready.")
    return 1 if failed else 0


def delete_command(runtime, args) -> int:
    from core.knowledge.ingest import delete_document

    clone = _clone(runtime, args.clone)
    targets = _pick(_documents(runtime, clone), args.documents)
    names = ", ".join(f'"{d.filename}"' for d in targets)
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidInput(f"Deleting {names} cannot be undone; add --yes to confirm.")
        reply = input(f"Delete {names} from {clone.name}? Its passages stop being used in answers. [y/N] ")
        if reply.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    for document in targets:
        delete_document(runtime, document.id)
        print(f"Deleted {document.filename}.")
    return 0
