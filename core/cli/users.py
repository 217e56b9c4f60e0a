"""`python -m core users list|claim-local|budget`: the people login signed in, the single-user
studio's data, and daily cloud budgets."""
from __future__ import annotations

import argparse

from core import auth, spend
from core.cli import print_json
from core.errors import NotFound


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("users", help="signed-in users, the local data, daily cloud budgets")
    commands = parser.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="everyone who has signed in, with today's cloud spend")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)
    claim = commands.add_parser("claim-local", help="give the single-user studio's data to a signed-in user")
    claim.add_argument("user", metavar="USER", help="the user's e-mail, subject or id")
    claim.set_defaults(handler=claim_command)
    budget = commands.add_parser("budget", help="show or set a daily cloud budget (USD)")
    budget.add_argument("user", nargs="?", default=None, metavar="USER",
                        help="e-mail, subject or id; leave out for the studio-wide default (or the local user)")
    budget.add_argument("--usd", default=None, metavar="DOLLARS", help="the new cap; 'none' for no cap")
    budget.add_argument("--clear", action="store_true", help="remove the user's own cap (the default applies)")
    budget.set_defaults(handler=budget_command)
    return parser


def _user(runtime, ref: str):
    user = auth.find_user(runtime, ref)
    if user is None:
        raise NotFound(f"No one called '{ref}' has signed in yet; they need to sign in once first.")
    return user


def list_command(runtime, args) -> int:
    users = auth.list_users(runtime)
    rows = [{"id": u.id, "name": u.name, "email": u.email, "subject": u.subject, "issuer": u.issuer,
             "admin": auth.is_admin(u), "first_seen": u.first_seen, "last_seen": u.last_seen,
             "spent_today_usd": round(spend.spent_today(runtime, u.id), 4),
             "daily_cap_usd": spend.daily_cap(runtime, u.id)[0]} for u in users]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("No one has signed in yet.")
        return 0
    for row in rows:
        cap = "no cap" if row["daily_cap_usd"] is None else f"cap ${row['daily_cap_usd']:.2f}"
        print(f"{row['email'] or row['subject']:<32} {'admin ' if row['admin'] else '      '}"
              f"today ${row['spent_today_usd']:.2f} ({cap})  last seen {row['last_seen']:%Y-%m-%d %H:%M}")
    return 0


def claim_command(runtime, args) -> int:
    user = _user(runtime, args.user)
    moved = auth.claim_local_data(runtime, user.id)
    if not moved:
        print("The local owner holds nothing; there was nothing to move.")
        return 0
    print(f"Moved to {user.email or user.subject}: " + ", ".join(f"{n} {table}" for table, n in sorted(moved.items())))
    return 0


def budget_command(runtime, args) -> int:
    owner = _user(runtime, args.user).id if args.user else None
    if args.clear and owner:
        spend.set_cap(runtime, owner, None, clear=True)
    elif args.usd is not None:
        value = None if args.usd.strip().lower() == "none" else args.usd
        if owner:
            spend.set_cap(runtime, owner, value)
        elif auth.login_enabled():
            spend.set_default_cap(runtime, value)
        else:
            spend.set_cap(runtime, runtime.owner_id, value)
    target = owner or (None if auth.login_enabled() else runtime.owner_id)
    if target is None:
        cap, source = spend.daily_cap(runtime, spend.STUDIO_OWNER)
        print("Studio-wide daily cloud budget: " + ("none" if cap is None else f"${cap:.2f}") + f" ({source})")
        return 0
    state = spend.budget(runtime, target)
    cap = "none" if state.cap_usd is None else f"${state.cap_usd:.2f}"
    print(f"Daily cloud budget: {cap} ({state.source}); spent today: ${state.spent_usd:.4f}")
    return 0
