"""First uses in a real browser, with the background warm-up of the offline models on and off.

For each setting and run: a fresh data directory, `streamlit run` on 127.0.0.1, Chromium opens
the studio (first page: navigation to idle, demo seeding included in both), waits a fixed
settle time as a newcomer reading the welcome would, then opens the Voice page and clicks
Preview (click to the audio element). Prints the medians and the ratios warm-up on / off:
the first page should not get slower (ratio ~1), the first preview should get much faster.

    python bench/first_use.py [--runs 3] [--settle 25]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import launch_chromium, new_page, run_studio, wait_idle  # noqa: E402


def one_run(browser, warm: bool, settle: float) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        with run_studio(Path(home), env={"CLONE_STUDIO_WARMUP": "1" if warm else "0"}) as studio:
            page = new_page(browser)
            started = time.perf_counter()
            page.goto(studio.url)
            wait_idle(page)
            page.get_by_text("Welcome to Clone Studio").wait_for()
            first_page = (time.perf_counter() - started) * 1000
            time.sleep(settle)
            page.goto(f"{studio.url}/voice")
            wait_idle(page)
            started = time.perf_counter()
            page.get_by_role("button", name="Preview").click()
            page.locator("audio").first.wait_for(state="attached", timeout=180_000)
            preview = (time.perf_counter() - started) * 1000
            page.close()
            return first_page, preview


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=25.0, help="seconds between the first page and the preview")
    args = parser.parse_args()
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    with launch_chromium() as browser:
        for _ in range(args.runs):
            for warm in (False, True):  # interleaved, so machine load hits both alike
                results[warm].append(one_run(browser, warm, args.settle))
                print(f"warm-up {'on ' if warm else 'off'}: first page {results[warm][-1][0]:7.0f} ms, "
                      f"first voice preview {results[warm][-1][1]:7.0f} ms", flush=True)
    med = {warm: [statistics.median(r[i] for r in results[warm]) for i in (0, 1)] for warm in results}
    print(f"\nmedians over {args.runs} runs (load average {os.getloadavg()[0]:.1f}):")
    for warm in (False, True):
        print(f"  warm-up {'on ' if warm else 'off'}: first page {med[warm][0]:7.0f} ms · first preview {med[warm][1]:7.0f} ms")
    print(f"  first page, on / off: {med[True][0] / med[False][0]:.2f}× (target ≈ 1)")
    print(f"  first preview, on / off: {med[True][1] / med[False][1]:.2f}× (lower is better)")


if __name__ == "__main__":
    main()
