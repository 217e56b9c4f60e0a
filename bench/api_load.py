"""Load test: 50 concurrent clients for 30 s against `streamlit run streamlit_app.py` on
127.0.0.1, calling the knowledge tool with a mix of repeated and new questions.

Bounded and self-stopping: each client stops at the deadline, every request has a 15 s
timeout, the whole run is cut off at twice the duration, and the studio is stopped at the
end. Prints requests, errors (anything but 200, or a failed connection), throughput and p50 /
p95 / max latency, overall and for cache hits and misses; exits 1 when there were errors.
The rate limit is raised for this run (50 clients share one token). Not part of the test
suite (it takes about a minute); run: python bench/api_load.py [--clients 50] [--seconds 30]
"""
from __future__ import annotations

import sys
from pathlib import Path

BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != BENCH]  # bench/ off sys.path: a script there named like a standard module would shadow it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402  (after the sys.path fix above)
import asyncio  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from bench.api_common import loadavg, queries, seed  # noqa: E402
from tests.browser import run_studio  # noqa: E402

REPEATED = queries(20, offset=5)  # the questions callers keep asking
REPEAT_SHARE = 0.8


async def client(http: httpx.AsyncClient, clone_id: str, deadline: float, seed_: int, results: list) -> None:
    rng = random.Random(seed_)
    asked = 0
    while time.monotonic() < deadline:
        if rng.random() < REPEAT_SHARE:
            query = rng.choice(REPEATED)
        else:
            asked += 1
            query = queries(1, offset=10_000 + seed_ * 100_003 + asked)[0] + f" ({seed_}-{asked})"
        started = time.perf_counter()
        try:
            response = await http.post("/api/tools/knowledge", json={"query": query, "clone_id": clone_id})
            ok = response.status_code == 200
            cached = ok and response.json().get("cached") is True
            detail = None if ok else f"{response.status_code} {response.text[:120]}"
        except httpx.HTTPError as error:
            ok, cached, detail = False, False, f"{type(error).__name__}: {error}"
        results.append(((time.perf_counter() - started) * 1000, ok, cached, detail))


async def load(url: str, token: str, clone_id: str, clients: int, seconds: float) -> tuple[list, float]:
    results: list = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=15,
                                 limits=limits) as http:
        await http.post("/api/tools/knowledge", json={"query": "warm up", "clone_id": clone_id}, timeout=120)
        started = time.monotonic()
        deadline = started + seconds
        tasks = [client(http, clone_id, deadline, i, results) for i in range(clients)]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=2 * seconds + 30)
    return results, time.monotonic() - started


def summary(label: str, latencies: list[float]) -> str:
    if not latencies:
        return f"  {label:<7} none"
    values = np.array(latencies)
    return (f"  {label:<7} {len(values):>6} requests · p50 {np.percentile(values, 50):7.1f} ms · "
            f"p95 {np.percentile(values, 95):7.1f} ms · max {values.max():7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--chunks", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        print(f"seeding a clone with {args.chunks:,} chunks …", flush=True)
        clone_id, token = seed(home, args.chunks)
        with run_studio(home, env={"CLONE_STUDIO_API_RATE_LIMIT": "1000000/minute"}) as studio:
            print(f"{args.clients} clients for {args.seconds:.0f} s against {studio.url} (load {loadavg()}) …", flush=True)
            results, elapsed = asyncio.run(load(studio.url, token, clone_id, args.clients, args.seconds))
    errors = [r for r in results if not r[1]]
    print(f"\n{len(results)} requests in {elapsed:.1f} s (the last in-flight ones finish after the {args.seconds:.0f} s) ({len(results) / elapsed:.0f}/s), {len(errors)} errors, "
          f"load average {loadavg()}")
    print(summary("all", [r[0] for r in results]))
    print(summary("cached", [r[0] for r in results if r[2]]))
    print(summary("new", [r[0] for r in results if r[1] and not r[2]]))
    for detail in sorted({r[3] for r in errors})[:5]:
        print(f"  error: {detail}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
