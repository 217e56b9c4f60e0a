"""`python -m core clones create|list|delete`."""
from __future__ import annotations

import argparse

from core.cli import print_json
from core.clones import clone_cards, create_clone, delete_clone, find_clone


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("clones", help="create, list and delete clones")
    commands = parser.add_subparsers(dest="clones_command", required=True, metavar="COMMAND")

    create = commands.add_parser("create", help="create a clone")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--description", default="", metavar="TEXT")
    create.add_argument("--avatar", default="🤖", metavar="EMOJI")
    create.add_argument("--system-prompt", default=None, metavar="TEXT")
    create.set_defaults(handler=create_command)

    listing = commands.add_parser("list", help="list clones")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)

    delete = commands.add_parser("delete", help="delete a clone with its documents and chats")
    delete.add_argument("name", metavar="NAME")
    delete.set_defaults(handler=delete_command)
    return parser


def clone_subcommands(subparsers) -> argparse._SubParsersAction:
    """The `clones` command's own subparsers, so other modules can add `clones export`,
    `clones import` or options such as `clones create --template`."""
    parser = subparsers.choices.get("clones") or register(subparsers)
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def create_command(runtime, args) -> int:
    clone = create_clone(runtime, args.name, args.description, args.avatar, args.system_prompt)
    print(f"Created clone '{clone.name}' ({clone.slug}).")
    return 0


def _card_json(card) -> dict:
    clone = card.clone
    return {
        "id": clone.id, "name": clone.name, "slug": clone.slug, "description": clone.description,
        "avatar": clone.avatar, "documents": card.documents, "chats": card.chats,
        "last_used": clone.last_used_at.isoformat() if clone.last_used_at else None,
        "provider": clone.llm_provider, "model": clone.llm_model, "created_at": clone.created_at.isoformat(),
    }


def list_command(runtime, args) -> int:
    with runtime.session() as session:
        cards = clone_cards(session)
    if args.json:
        print_json([_card_json(card) for card in cards])
        return 0
    if not cards:
        print("No clones yet. Create one with: python -m core clones create NAME")
        return 0
    width = max(len(card.clone.name) for card in cards)
    for card in cards:
        used = card.last_used.strftime("%Y-%m-%d %H:%M") if card.last_used else "never used"
        print(f"{card.clone.name:<{width}}  {card.documents} documents  {card.chats} chats  {used}")
    return 0


def delete_command(runtime, args) -> int:
    with runtime.session() as session:
        clone = find_clone(session, args.name)
    delete_clone(runtime, clone.id)
    print(f"Deleted clone '{clone.name}' with its documents and chats.")
    return 0
