"""`python -m core analytics --clone NAME [--days N] [--json]`: the Analytics page's figures on the command line."""
from __future__ import annotations

import argparse

from core.analytics import Filters, dashboard, to_json
from core.cli import print_json
from core.clones import find_clone
from core.errors import InvalidInput


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("analytics", help="use, latency, cost, retrieval and quality figures")
    parser.add_argument("--clone", metavar="NAME", default=None, help="one clone (default: every clone)")
    parser.add_argument("--days", type=int, default=30, metavar="N", help="the last N days, today included (default 30)")
    parser.add_argument("--all-time", action="store_true", help="every day instead of the last N")
    parser.add_argument("--version", default=None, metavar="sN/rN/uN", help="only answers from these prompt versions")
    parser.add_argument("--provider", default=None, metavar="P")
    parser.add_argument("--model", default=None, metavar="M")
    parser.add_argument("--json", action="store_true", help="print every figure the page shows as JSON")
    parser.set_defaults(handler=analytics_command)
    return parser


def analytics_command(runtime, args) -> int:
    if args.days < 1:
        raise InvalidInput("--days must be at least 1.")
    with runtime.session() as session:
        clone = find_clone(session, args.clone) if args.clone else None
        filters = Filters(clone_id=clone.id if clone else None, days=None if args.all_time else args.days,
                          version=args.version, provider=args.provider, model=args.model)
        figures = dashboard(session, filters)
    data = to_json(figures, filters)
    data["clone"] = clone.name if clone else None
    if args.json:
        print_json(data)
        return 0
    print_summary(data)
    return 0


def _ms(value) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def print_summary(data: dict) -> None:
    period = data["filters"]
    print(f"{data['clone'] or 'All clones'}: {period['start'] or 'all time'} to {period['end']}")
    usage = data["usage_per_day"]
    answers = sum(day["answers"] for day in usage)
    questions = sum(day["questions"] or 0 for day in usage)
    voice = sum(day["voice_turns"] for day in usage)
    print(f"  use        {questions:,} questions, {answers:,} answers, {voice:,} voice turns, "
          f"{sum(day['threads'] or 0 for day in usage):,} new threads")
    for row in data["latency_summary"]:
        print(f"  latency    {row['stage']:<12} p50 {_ms(row['p50']):>10}  p95 {_ms(row['p95']):>10}  ({row['answers']:,} answers)")
    for row in data["cost_by_model"]:
        print(f"  cost       {row['provider']}/{row['model']}: ${row['cost_usd']:.4f} over {row['answers']:,} answers "
              f"(${row['cost_per_answer']:.5f} each, {row['tokens_per_answer']:.0f} tokens)")
    summary = data["retrieval_summary"]
    if summary["answers"]:
        print(f"  retrieval  {summary['no_source_share']:.0%} of answers had no relevant source "
              f"({summary['nothing_retrieved']:,} found nothing, {summary['none_cited']:,} cited nothing)")
    for row in data["cited_documents"][:5]:
        print(f"  cited      {row['document']} ({row['clone']}): {row['cited']:,} times")
    if data["uncited_documents"]:
        print(f"  uncited    {len(data['uncited_documents'])} ready documents never cited")
    for row in data["version_quality"]:
        print(f"  quality    {row['version']}: {row['pass_rate']:.0%} pass "
              f"(95% CI {row['ci_low']:.0%}-{row['ci_high']:.0%}, {row['cases']:,} cases)")
    trust = data["judge_trust"]
    if trust["n"]:
        kappa = "–" if trust["kappa"] is None else f"{trust['kappa']:.2f}"
        print(f"  judge      kappa {kappa} ({trust['band']}) over {trust['n']} cases")
