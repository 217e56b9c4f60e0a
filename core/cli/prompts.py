"""`python -m core prompts list|save|activate|diff` for prompt engineers."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli import print_json
from core.clones import find_clone
from core.errors import InvalidInput
from core.prompts import LAYERS, activate_version, diff_versions, history, save_version, token_count


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("prompts", help="list, save, activate and diff prompt versions")
    commands = parser.add_subparsers(dest="prompts_command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="every version of each layer; * marks the active one")
    listing.add_argument("--clone", required=True, metavar="NAME")
    listing.add_argument("--layer", choices=LAYERS, default=None, help="only this layer")
    listing.add_argument("--json", action="store_true", help="print JSON (with each version's text)")
    listing.set_defaults(handler=list_command)

    save = commands.add_parser("save", help="save a file (or - for stdin) as the layer's next version")
    save.add_argument("--clone", required=True, metavar="NAME")
    save.add_argument("--layer", required=True, choices=LAYERS)
    save.add_argument("--file", required=True, metavar="PATH")
    save.add_argument("-m", "--message", required=True, metavar="MESSAGE", help="what changed")
    save.add_argument("--author", default=None, metavar="NAME")
    save.add_argument("--activate", action="store_true", help="also make the new version active")
    save.set_defaults(handler=save_command)

    activate = commands.add_parser("activate", help="make a version the active one (roll back or forward)")
    activate.add_argument("--clone", required=True, metavar="NAME")
    activate.add_argument("--layer", required=True, choices=LAYERS)
    activate.add_argument("--version", required=True, type=int, metavar="N")
    activate.set_defaults(handler=activate_command)

    diff = commands.add_parser("diff", help="unified diff between two versions of a layer")
    diff.add_argument("--clone", required=True, metavar="NAME")
    diff.add_argument("--layer", required=True, choices=LAYERS)
    diff.add_argument("a", type=int, metavar="A")
    diff.add_argument("b", type=int, metavar="B")
    diff.set_defaults(handler=diff_command)
    return parser


def _version_json(row) -> dict:
    return {
        "version": row.version, "active": row.active, "message": row.message, "author": row.author,
        "parent": row.parent_version, "created_at": row.created_at.isoformat(), "tokens": token_count(row.content),
        "content": row.content,
    }


def list_command(runtime, args) -> int:
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
        layers = [args.layer] if args.layer else list(LAYERS)
        versions = {layer: history(session, clone.id, layer) for layer in layers}
    if args.json:
        print_json({"clone": clone.name, "layers": {layer: [_version_json(r) for r in rows] for layer, rows in versions.items()}})
        return 0
    for layer, rows in versions.items():
        print(f"{layer}:")
        for row in rows:
            mark = "*" if row.active else " "
            parent = f" (from v{row.parent_version})" if row.parent_version else ""
            when = row.created_at.strftime("%Y-%m-%d %H:%M")
            print(f"  {mark} v{row.version:<3} {when}  {row.author:<10} {row.message}{parent}")
    return 0


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"There is no file at {path}; check the path.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"Could not read {path} as UTF-8 text ({type(error).__name__}); check the file.") from None


def save_command(runtime, args) -> int:
    content = _read(args.file)
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
        options = {"author": args.author} if args.author else {}
        row = save_version(session, clone.id, args.layer, content, args.message, activate=args.activate, **options)
    state = "active" if args.activate else (
        f"not active; activate it with: python -m core prompts activate --clone {clone.slug} "
        f"--layer {args.layer} --version {row.version}"
    )
    print(f"Saved {args.layer} v{row.version} of {clone.name} ({state}).")
    return 0


def activate_command(runtime, args) -> int:
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
        row = activate_version(session, clone.id, args.layer, args.version)
    print(f"{clone.name} now answers with {args.layer} v{row.version}.")
    return 0


def diff_command(runtime, args) -> int:
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
        diff = diff_versions(session, clone.id, args.layer, args.a, args.b)
    if diff.identical:
        print(f"{args.layer} v{args.a} and v{args.b} are identical.")
        return 0
    print(diff.unified)
    return 0
