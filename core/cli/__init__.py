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
    "core.cli.clones", "core.cli.knowledge", "core.cli.chat",
    "core.cli.prompts", "core.cli.templates", "core.cli.bundles",  # bundles adds to `clones`: keep it after it
    "core.cli.providers", "core.cli.voice", "core.cli.call",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Clone Studio from the command line.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in GROUPS:
        importlib.import_module(name).register(subparsers)
    return parser


def print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
