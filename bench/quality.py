"""Quality lab timings, offline: drafting cases from the demo documents, a suite run, per case,
and what the evaluators (MiniLM similarity and grounding included) add on top of answering.

Prints medians over several runs and the ratio, measured in the same run.
Run: python bench/quality.py [--runs 5] [--cases 20]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import Settings  # noqa: E402
from core.clones import find_clone  # noqa: E402
from core.demo import NAME  # noqa: E402
from core.lifecycle import wait_indexed  # noqa: E402
from core.quality import evaluators, runs, suites  # noqa: E402
from core.quality.drafts import draft_cases  # noqa: E402
from core.runtime import open_runtime  # noqa: E402

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    runtime = open_runtime(Settings(home=home, database_url=f"sqlite:///{home / 'studio.db'}",
                                    lancedb_uri=str(home / "lancedb"), max_upload_mb=50), seed_demo=True)
    try:
        wait_indexed(runtime)
        with runtime.session() as session:
            clone = find_clone(session, NAME)
        start = time.perf_counter()
        cases = draft_cases(runtime, clone.id, limit=args.cases)
        drafting = time.perf_counter() - start
        with runtime.session() as session:
            suite = suites.create_suite(session, clone.id, "Bench", cases, {"judge": "none"})
        totals, per_case, answering, scoring = [], [], [], []
        for _ in range(args.runs):
            run = runs.run_suite(runtime, clone.id, suite.id)
            totals.append(run.duration_ms / 1000)
            per_case.append(run.duration_ms / run.case_count)
            with runtime.session() as session:
                results = runs.run_results(session, run.id)
            answering.append(statistics.median(r.latency_ms for r in results))
            settings = suites.suite_settings(suite)
            with runtime.session() as session:
                case_rows = suites.suite_cases(session, suite.id)
            t0 = time.perf_counter()
            for case, result in zip(case_rows, results):
                evaluators.evaluate(case, evaluators.Outcome(result.answer, result.sources, result.latency_ms), settings)
            scoring.append((time.perf_counter() - t0) * 1000 / len(results))
        ratio = statistics.median(scoring) / statistics.median(answering)
        print(f"drafted {len(cases)} cases from the demo documents in {drafting * 1000:.0f} ms")
        print(f"suite run ({len(cases)} cases, offline)   median {statistics.median(totals):6.2f} s   "
              f"per case {statistics.median(per_case):7.1f} ms   (n={args.runs})")
        print(f"answering per case (retrieval + answer) median {statistics.median(answering):7.1f} ms")
        print(f"scoring per case (every evaluator)      median {statistics.median(scoring):7.1f} ms")
        print(f"scoring / answering = {ratio:.2f}×")
    finally:
        runtime.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
