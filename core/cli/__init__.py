"""The command line: `python -m core …`. Each command group is one module with `register(subparsers)`.

A command's handler takes (runtime, args) and returns an exit code. Errors the user can act
on (`StudioError`) print one plain line on stderr and exit non-zero, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from core.errors import StudioError

GROUPS = (
    "core.cli.clones", "core.cli.knowledge", "core.cli.documents", "core.cli.chat",
    "core.cli.prompts", "core.cli.templates", "core.cli.bundles",  # bundles adds to `clones`: keep it after it
    "core.cli.providers", "core.cli.voice", "core.cli.call",
    "core.cli.eval", "core.cli.analytics",
    "core.cli.tokens", "core.cli.users",
)


# which group registers each top-level command: a command loads only its own group's modules
COMMANDS = {
    "clones": ("core.cli.clones", "core.cli.bundles"), "ingest": ("core.cli.knowledge",),
    "search": ("core.cli.knowledge",), "ask": ("core.cli.chat",), "prompts": ("core.cli.prompts",),
    "templates": ("core.cli.templates",), "providers": ("core.cli.providers",), "speak": ("core.cli.voice",),
    "transcribe": ("core.cli.voice",), "voices": ("core.cli.voice",),
}


def _command(argv: list[str]) -> str | None:
    first = next((w for w in argv if not w.startswith("-")), None)
    return first if first in COMMANDS else None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv` naming a known command, only that command's group is imported
    (help, unknown commands and a bare `python -m core` load every group)."""
    parser = argparse.ArgumentParser(prog="python -m core", description="Clone Studio from the command line.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    command = _command(argv) if argv is not None and "-h" not in argv[:1] and "--help" not in argv[:1] else None
    for name in COMMANDS[command] if command else GROUPS:
        importlib.import_module(name).register(subparsers)
    return parser


def print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    from core.runtime import open_runtime

    runtime = None
    try:
        runtime = open_runtime(seed_demo=False)
        return args.handler(runtime, args)
    except StudioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if runtime is not None:
            runtime.close()
