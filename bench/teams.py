"""What login, isolation and spend caps add to the studio's hot paths, measured in one run:

- resolving the signed-in person to their owner id (every script run with login on);
- the budget check before a cloud answer, with a day of busy use (messages) on the books;
- the one-stream slot taken and released around every answer;
- listing one owner's clones and retrieving in one owner's clone while another owner holds
  as many rows (the owner filter), next to the same calls in a studio holding one owner only.

Prints medians and p95, and the ratios. Run: python bench/teams.py [--messages 20000] [--repeats 200]
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

from core import auth, spend  # noqa: E402
from core.clones import create_clone, list_clones  # noqa: E402
from core.config import Settings  # noqa: E402
from core.knowledge.ingest import ingest_now  # noqa: E402
from core.knowledge.search import retrieve  # noqa: E402
from core.models import Conversation, Message  # noqa: E402
from core.runtime import open_runtime  # noqa: E402

ISSUER = "http://127.0.0.1:9"
DOC = "\n\n".join(f"# Section {i}\n\nThe lighthouse keeper logs item {i} with care, page {i}." for i in range(60))


def measure(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def line(name: str, figures: tuple[float, float]) -> float:
    print(f"{name:<58} p50 {figures[0]:8.3f} ms   p95 {figures[1]:8.3f} ms")
    return figures[0]


def studio(home: Path, owners: list[str], messages: int, clones: int):
    runtime = open_runtime(Settings(home=home, database_url=f"sqlite:///{home / 'studio.db'}",
                                    lancedb_uri=str(home / "lancedb"), max_upload_mb=50), seed_demo=False)
    made = {}
    for owner in owners:
        rt = runtime.scoped(owner)
        mine = [create_clone(rt, f"{owner} clone {i}") for i in range(clones)]
        ingest_now(rt, mine[0].id, "log.md", DOC.encode())
        with rt.session() as session:
            thread = Conversation(owner_id=owner, clone_id=mine[0].id)
            session.add(thread)
            session.flush()
            session.add_all(Message(owner_id=owner, conversation_id=thread.id, role="assistant", content="x",
                                    cost_usd=0.0001) for _ in range(messages))
            session.commit()
        made[owner] = (rt, mine[0])
    return runtime, made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000, help="messages today per owner")
    parser.add_argument("--clones", type=int, default=50, help="clones per owner")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-platform-"))
    try:
        shared, made = studio(root / "two", ["alice", "bob"], args.messages, args.clones)
        alone, alone_made = studio(root / "one", ["alice"], args.messages, args.clones)
        rt, clone = made["alice"]
        rt_alone, clone_alone = alone_made["alice"]
        auth.owner_for(shared, ISSUER, "alice-sub", "Alice", "alice@example.com")
        print(f"two owners x {args.clones} clones and {args.messages} messages today each; repeats {args.repeats}")
        line("owner id from (issuer, sub), every run", measure(
            lambda: auth.owner_for(shared, ISSUER, "alice-sub", "Alice", "alice@example.com"), args.repeats))
        spend.set_cap(shared, "alice", "1000")
        line("budget check before a cloud answer", measure(
            lambda: spend.check_budget(rt, "openai"), args.repeats))
        line("one-stream slot: acquire + release", measure(
            lambda: spend.release_stream("alice", spend.acquire_stream("alice")), args.repeats))

        def listing(runtime):
            with runtime.session() as session:
                return list_clones(session)

        both = line("list one owner's clones (another owner present)", measure(lambda: listing(rt), args.repeats))
        one = line("list clones (one owner in the studio)", measure(lambda: listing(rt_alone), args.repeats))
        print(f"{'  ratio':<58} {both / one:8.2f}x")
        both = line("retrieve in one owner's clone (another owner present)",
                    measure(lambda: retrieve(rt, clone, "lighthouse keeper item 42"), args.repeats))
        one = line("retrieve (one owner in the studio)",
                   measure(lambda: retrieve(rt_alone, clone_alone, "lighthouse keeper item 42"), args.repeats))
        print(f"{'  ratio':<58} {both / one:8.2f}x")
        shared.close()
        alone.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
