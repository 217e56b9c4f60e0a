"""`python -m core eval run|suites|import`: run a clone's test suite (CI gate), list suites, import cases."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli import print_json
from core.clones import find_clone
from core.errors import InvalidInput
from core.prompts import LAYERS


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("eval", help="run test suites, list them, import cases")
    commands = parser.add_subparsers(dest="eval_command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="answer every case of a suite, score it, print the results")
    run.add_argument("--clone", required=True, metavar="NAME")
    run.add_argument("--suite", required=True, metavar="NAME")
    for layer in LAYERS:
        run.add_argument(f"--{layer}", type=int, default=None, metavar="N", help=f"{layer} layer version (default: active)")
    run.add_argument("--provider", default=None, metavar="P", help="answer with this provider (default: the clone's)")
    run.add_argument("--model", default=None, metavar="M")
    run.add_argument("--judge", default=None, metavar="PROVIDER:MODEL",
                     help="LLM judge, or 'none' (default: the suite's setting)")
    run.add_argument("--json", action="store_true", help="print the results as JSON")
    run.add_argument("--min-pass", type=float, default=None, metavar="RATE",
                     help="exit 1 when the pass rate is under RATE (0-1)")
    run.set_defaults(handler=run_command)

    listing = commands.add_parser("suites", help="a clone's test suites")
    listing.add_argument("--clone", required=True, metavar="NAME")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=suites_command)

    imports = commands.add_parser("import", help="add cases from a CSV or JSON file (the suite is created if new)")
    imports.add_argument("--clone", required=True, metavar="NAME")
    imports.add_argument("--suite", required=True, metavar="NAME")
    imports.add_argument("file", metavar="FILE.csv|FILE.json")
    imports.set_defaults(handler=import_command)
    return parser


def _line(result) -> str:
    mark = "PASS" if result.passed else ("ERROR" if result.error else "FAIL")
    detail = result.error or "; ".join(f"{name}: {score['reason']}" for name, score in result.scores.items()
                                       if not score["passed"])
    return f"{mark:5} {result.question}" + (f"\n      {detail}" if detail else "")


def run_command(runtime, args) -> int:
    from core.quality.runs import run_json, run_suite
    from core.quality.suites import find_suite

    if args.min_pass is not None and not 0 <= args.min_pass <= 1:
        raise InvalidInput("--min-pass is a pass rate between 0 and 1, for example 0.8.")
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
        suite = find_suite(session, clone.id, args.suite)
    choice = {layer: getattr(args, layer) for layer in LAYERS if getattr(args, layer) is not None}

    def progress(done, total, result) -> None:
        if not args.json:
            print(f"[{done}/{total}] {_line(result)}", flush=True)

    run = run_suite(runtime, clone.id, suite.id, choice, args.provider, args.model, args.judge, on_progress=progress)
    with runtime.session() as session:
        report = run_json(session, run)
    if args.json:
        print_json(report)
    else:
        rate = "—" if run.pass_rate is None else f"{run.pass_rate:.0%}"
        passed = sum(case["passed"] for case in report["cases"])
        print(f"\n{suite.name}: {passed}/{len(report['cases'])} passed ({rate}) · {run.label} · "
              f"{run.provider}:{run.model}" + (f" · judge {run.judge}" if run.judge else "") +
              f" · {run.duration_ms / 1000:.1f} s · ${run.cost_usd:.4f} · run {run.id}")
        for name, value in run.scores.items():
            print(f"  {name:24} {value:.2f}")
    if args.min_pass is not None and (run.pass_rate or 0.0) < args.min_pass:
        print(f"error: the pass rate {run.pass_rate or 0:.0%} is under --min-pass {args.min_pass:.0%}.", file=sys.stderr)
        return 1
    return 0


def suites_command(runtime, args) -> int:
    from core.quality.runs import list_runs
    from core.quality.suites import list_suites, suite_cases

    with runtime.session() as session:
        clone = find_clone(session, args.clone)
        rows = []
        for suite in list_suites(session, clone.id):
            runs = list_runs(session, clone.id, suite.id)
            rows.append({"name": suite.name, "id": suite.id, "cases": len(suite_cases(session, suite.id)),
                         "drafts": len(suite_cases(session, suite.id, "draft")),
                         "last_pass_rate": runs[0].pass_rate if runs else None, "runs": len(runs)})
    if args.json:
        print_json(rows)
    elif not rows:
        print(f"{clone.name} has no test suites yet; import one with `python -m core eval import`.")
    for row in ([] if args.json else rows):
        rate = "—" if row["last_pass_rate"] is None else f"{row['last_pass_rate']:.0%}"
        print(f"{row['name']:30} {row['cases']:4} cases  {row['drafts']:3} drafts  last run {rate}")
    return 0


def import_command(runtime, args) -> int:
    from core.quality.suites import add_cases, create_suite, find_suite, parse_file
    from core.errors import NotFound

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"Could not read {path}: {error.strerror}.") from None
    rows = parse_file(data, path.name)
    with runtime.session() as session:
        clone = find_clone(session, args.clone)
        try:
            suite = find_suite(session, clone.id, args.suite)
            add_cases(session, suite.id, rows)
            session.commit()
        except NotFound:
            suite = create_suite(session, clone.id, args.suite, rows)
    print(f"Imported {len(rows)} cases into '{suite.name}'.")
    return 0
