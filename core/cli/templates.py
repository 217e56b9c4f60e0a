"""`python -m core templates list [--json] [--category C] [--search WORDS]`."""
from __future__ import annotations

import argparse

from core.cli import print_json
from core.template_library import list_templates


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("templates", help="persona templates to create clones from")
    commands = parser.add_subparsers(dest="templates_command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="built-in templates and the ones you saved")
    listing.add_argument("--json", action="store_true", help="print JSON (with each template's prompts)")
    listing.add_argument("--category", default=None, metavar="CATEGORY")
    listing.add_argument("--search", default="", metavar="WORDS")
    listing.set_defaults(handler=list_command)
    return parser


def _json(template) -> dict:
    return {"id": template.id, "builtin": template.builtin, **template.to_data()}


def list_command(runtime, args) -> int:
    with runtime.session() as session:
        templates = list_templates(session, query=args.search, category=args.category)
    if args.json:
        print_json([_json(t) for t in templates])
        return 0
    if not templates:
        print("No templates match.")
        return 0
    width = max(len(t.id) for t in templates)
    for t in templates:
        print(f"{t.icon} {t.id:<{width}}  {t.category:<16} {t.description}")
    print("\nCreate a clone from one with: python -m core clones create NAME --template ID")
    return 0
