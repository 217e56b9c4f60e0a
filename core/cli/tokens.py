"""`python -m core tokens create|list|revoke`: service-API tokens (the token is printed once)."""
from __future__ import annotations

import argparse
import sys

from core.api.tokens import create_token, describe, list_tokens, masked, revoke_token
from core.cli import print_json
from core.config import LOCAL_OWNER


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("tokens", help="create, list and revoke service-API tokens")
    commands = parser.add_subparsers(dest="tokens_command", required=True, metavar="COMMAND")

    create = commands.add_parser("create", help="make a token; it is printed once and stored only as a hash")
    create.add_argument("--name", required=True, metavar="NAME", help="what will use it, e.g. 'phone agent'")
    create.add_argument("--json", action="store_true", help="print {name, token, created_at} as JSON")
    create.set_defaults(handler=create_command)

    listing = commands.add_parser("list", help="live tokens with when each was last used")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_command)

    revoke = commands.add_parser("revoke", help="stop a token working, at once")
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(handler=revoke_command)

    for command in (create, listing, revoke):
        command.add_argument("--owner", default=LOCAL_OWNER, metavar="OWNER_ID",
                             help="whose tokens (a signed-in user's id; default: the local owner)")
    return parser


def create_command(runtime, args) -> int:
    made = create_token(runtime, args.name, args.owner)
    if args.json:
        print_json({"name": made.name, "token": made.token, "created_at": describe(made.row)["created_at"]})
    else:
        print(made.token)
        print(f"Token '{made.name}' created. Copy it now: it is not shown again "
              "(send it as `Authorization: Bearer TOKEN`).", file=sys.stderr)
    return 0


def list_command(runtime, args) -> int:
    rows = list_tokens(runtime, args.owner, include_revoked=args.all)
    if args.json:
        print_json([describe(row) for row in rows])
        return 0
    if not rows:
        print("No tokens yet; make one with `python -m core tokens create --name NAME`.")
        return 0
    for row in rows:
        info = describe(row)
        state = f"revoked {info['revoked_at']}" if row.revoked_at else f"last used {info['last_used_at'] or 'never'}"
        print(f"{row.name}\t{masked(row)}\tcreated {info['created_at']}\t{state}")
    return 0


def revoke_command(runtime, args) -> int:
    row = revoke_token(runtime, args.name, args.owner)
    print(f"Revoked '{row.name}' ({masked(row)}); programs using it now get 401.")
    return 0
