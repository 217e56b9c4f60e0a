"""`python -m core clones export NAME --out FILE`, `clones import FILE` and `clones create NAME --template ID`.

These join the `clones` command: `register` adds `export` and `import` to it and a `--template`
option to `clones create` (the plain create runs unchanged without it).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core.bundles import import_bundle, write_bundle
from core.clones import find_clone
from core.errors import InvalidInput
from core.lifecycle import create_from_template


def register(subparsers) -> None:
    from core.cli.clones import clone_subcommands

    commands = clone_subcommands(subparsers)

    export = commands.add_parser("export", help="write a clone to one bundle file")
    export.add_argument("name", metavar="NAME")
    export.add_argument("--out", required=True, metavar="FILE")
    export.set_defaults(handler=export_command)

    imported = commands.add_parser("import", help="recreate a clone from a bundle file")
    imported.add_argument("file", metavar="FILE")
    imported.set_defaults(handler=import_command)

    create = commands.choices["create"]
    create.add_argument("--template", default=None, metavar="ID", help="start from a template (see: templates list)")
    create.set_defaults(handler=create_command, plain_create=create.get_default("handler"))


def export_command(runtime, args) -> int:
    with runtime.session() as session:
        clone = find_clone(session, args.name)
    out = write_bundle(runtime, clone.id, Path(args.out))
    print(f"Exported {clone.name} to {out} ({out.stat().st_size} bytes).")
    return 0


def import_command(runtime, args) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"There is no file at {path}; check the path.") from None
    except OSError as error:
        raise InvalidInput(f"Could not read {path} ({error.strerror}); check the file.") from None
    clone = import_bundle(runtime, data, wait=True)
    print(f"Imported {clone.name} ({clone.slug}).")
    return 0


def create_command(runtime, args: argparse.Namespace) -> int:
    if not args.template:
        return args.plain_create(runtime, args)
    if args.system_prompt:
        raise InvalidInput("Use either --template or --system-prompt, not both; edit the prompt after creating.")
    description = args.description or None
    avatar = args.avatar if args.avatar != "🤖" else None
    clone = create_from_template(runtime, args.name, args.template, description=description, avatar=avatar)
    print(f"Created clone '{clone.name}' ({clone.slug}) from the template {args.template}.")
    return 0
