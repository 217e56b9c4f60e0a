"""`python -m core providers list [--json] [--no-live]`: each provider, whether a key is
configured (never the key) and its models."""
from __future__ import annotations

from core.cli import print_json
from core.providers.overview import SOURCES, overview


def register(subparsers) -> None:
    providers = subparsers.add_parser("providers", help="model and voice providers")
    actions = providers.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="each provider, whether its key is configured, and its models")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--no-live", action="store_true", help="do not ask vendors for their live model lists")
    listing.set_defaults(handler=list_command)


def _key_line(item) -> str:
    if item.offline:
        return "runs on this machine, no key needed"
    if item.key_problem:
        return item.key_problem
    if item.key_configured:
        return f"key configured ({SOURCES[item.key_source]})"
    return "no key configured" + ("" if item.key_required else " (optional)")


def list_command(runtime, args) -> int:
    items = overview(runtime, live=not args.no_live)
    if args.json:
        print_json([item.as_json() for item in items])
        return 0
    for item in items:
        print(f"{item.name}  {item.label}  [{', '.join(item.capabilities)}]")
        print(f"  {_key_line(item)}")
        for info in item.models + item.embedding_models:
            flags = " (live)" if info.live else ""
            kind = " embedding" if info.kind == "embedding" else ""
            print(f"  - {info.model}{kind}: {info.summary}{flags}")
    return 0
