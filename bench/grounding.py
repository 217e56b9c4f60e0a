"""Grounding benchmark: real documents with near-duplicates, questions in a user's words.

Ingests an evaluation set (docs/ + questions.json, the format of shared/eval/grounding-dev)
into a throw-away clone through the normal pipeline, then for every question:
- retrieval hit@1 / hit@5: a returned passage is from the right document (right page for a
  PDF) and contains the evidence phrase(s) (whitespace collapsed, case ignored);
- cited-evidence hit: a passage the offline answer cites is such a passage;
- refusals: unanswerable questions must be refused; answerable ones wrongly refused are counted;
- warm p50 latency of `core.chat.answer()` (the full turn: retrieve, answer, save).

Run: python bench/grounding.py [--set PATH ...] [--sweep] [--json]
Default sets: the development set (shared/eval/grounding-dev) and bench/data/grounding-licenses.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.clones import create_clone  # noqa: E402
from core.config import Settings  # noqa: E402

DEV_CANDIDATES = [ROOT.parent / "shared/eval/grounding-dev", Path("/work/shared/eval/grounding-dev")]
SECOND = ROOT / "bench/data/grounding-licenses"


def dev_set() -> Path | None:
    explicit = os.environ.get("GROUNDING_DEV")
    for path in ([Path(explicit)] if explicit else []) + DEV_CANDIDATES:
        if (path / "questions.json").exists():
            return path
    return None


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def evidence_hit(question: dict, document: str, page, text: str) -> bool:
    if question.get("unanswerable") or document != question["doc"]:
        return False
    if question.get("page") is not None and page != question["page"]:
        return False
    body = _norm(text)
    return all(_norm(phrase) in body for phrase in question["evidence"])


def load_set(path: Path) -> tuple[list[Path], list[dict]]:
    docs = sorted(p for p in (path / "docs").iterdir() if p.is_file())
    return docs, json.loads((path / "questions.json").read_text())


def ingest_set(runtime, path: Path, name: str = "Grounding bench"):
    from core.clones import find_clone
    from core.errors import NotFound
    from core.knowledge.ingest import ingest_now

    docs, questions = load_set(path)
    try:
        with runtime.session() as session:
            return find_clone(session, name), questions, 0.0  # kept from an earlier run (--keep)
    except NotFound:
        pass
    clone = create_clone(runtime, name, top_k=5)
    started = time.perf_counter()
    for doc in docs:
        document = ingest_now(runtime, clone.id, doc.name, doc.read_bytes())
        if document.status != "ready":
            raise SystemExit(f"{doc.name} failed to ingest: {document.error}")
    return clone, questions, time.perf_counter() - started


def evaluate(runtime, clone, questions: list[dict], latency: bool = True) -> dict:
    """Retrieval and answer figures for one ingested set."""
    from core.chat import answer
    from core.knowledge.search import retrieve
    from core.providers.offline_llm import is_refusal

    answerable = [q for q in questions if not q.get("unanswerable")]
    unanswerable = [q for q in questions if q.get("unanswerable")]
    rows, times = [], []
    answer(runtime, clone.id, "warm up: what is this about?")
    for q in questions:
        sources = retrieve(runtime, clone, q["q"], k=5).sources
        hits = [evidence_hit(q, s.document, s.page, s.text) for s in sources]
        started = time.perf_counter()
        result = answer(runtime, clone.id, q["q"])
        times.append((time.perf_counter() - started) * 1000)
        cited = [c for c in result["citations"] if c["cited"]]
        rows.append({
            "id": q["id"], "unanswerable": bool(q.get("unanswerable")),
            "hit1": bool(hits[:1] and hits[0]), "hit5": any(hits),
            "cited_hit": any(evidence_hit(q, c["document"], c["page"], c["text"]) for c in cited),
            "refused": is_refusal(result["answer"]),
            "top": [f"{s.document}:{s.page}" for s in sources[:3]],
        })
    n = max(1, len(answerable))
    by = {r["id"]: r for r in rows}
    figures = {
        "questions": len(questions), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "hit@1": sum(by[q["id"]]["hit1"] for q in answerable) / n,
        "hit@5": sum(by[q["id"]]["hit5"] for q in answerable) / n,
        "cited_evidence_hit": sum(by[q["id"]]["cited_hit"] for q in answerable) / n,
        "refusal_accuracy": sum(by[q["id"]]["refused"] for q in unanswerable) / max(1, len(unanswerable)),
        "wrongly_refused": sum(by[q["id"]]["refused"] for q in answerable) / n,
        "answer_p50_ms": statistics.median(times) if times else 0.0,
        "rows": rows,
    }
    return figures


def sweep(runtime, clone, questions: list[dict]) -> list[tuple[float, float, float, float]]:
    """(threshold, refusal accuracy, wrongly refused, cited hit) for candidate relevance thresholds."""
    from core.knowledge.search import retrieve
    from core.providers import offline_llm

    scored = []
    for q in questions:
        sources = retrieve(runtime, clone, q["q"], k=5).sources
        reply = offline_llm.respond(q["q"], sources, threshold=0.0)
        cited = [s for s in sources if s.n in reply.cited]
        hit = any(evidence_hit(q, s.document, s.page, s.text) for s in cited)
        # refused whatever the threshold (nothing related, or the kind of answer asked for is missing)
        confidence = reply.confidence if reply.kind == "answer" else -1.0
        scored.append((q, confidence, hit))
    answerable = [s for s in scored if not s[0].get("unanswerable")]
    unanswerable = [s for s in scored if s[0].get("unanswerable")]
    table = []
    for step in range(40, 121):  # reranked passages: rerank scores run from about 0.5 to 1.5
        t = step / 100
        table.append((t, sum(c < t for _, c, _ in unanswerable) / max(1, len(unanswerable)),
                      sum(c < t for _, c, _ in answerable) / max(1, len(answerable)),
                      sum(c >= t and h for _, c, h in answerable) / max(1, len(answerable))))
    return table


def _line(name: str, f: dict) -> str:
    return (f"{name:<22} {f['answerable']:>3}+{f['unanswerable']:<2} {f['hit@1']:>6.2f} {f['hit@5']:>6.2f} "
            f"{f['cited_evidence_hit']:>9.2f} {f['refusal_accuracy']:>8.2f} {f['wrongly_refused']:>9.2f} "
            f"{f['answer_p50_ms']:>9.1f}")


def main() -> None:
    from core.runtime import open_runtime

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", type=Path, help="an evaluation set folder (repeatable)")
    parser.add_argument("--sweep", action="store_true", help="print refusal figures for candidate thresholds")
    parser.add_argument("--json", action="store_true", help="print the figures (and per-question rows) as JSON")
    parser.add_argument("--keep", type=Path, help="keep the ingested clones in this folder and reuse them")
    parser.add_argument("--misses", action="store_true", help="list the questions each figure misses")
    args = parser.parse_args()
    sets = args.set or [p for p in (dev_set(), SECOND) if p is not None and (p / "questions.json").exists()]
    results = {}
    for path in sets:
        with tempfile.TemporaryDirectory() as scratch:
            home = args.keep / path.name if args.keep else Path(scratch)
            runtime = open_runtime(Settings(home, f"sqlite:///{home / 'studio.db'}", str(home / "lancedb"), 50),
                                   seed_demo=False)
            try:
                clone, questions, ingest_s = ingest_set(runtime, path)
                figures = evaluate(runtime, clone, questions)
                figures["ingest_s"] = ingest_s
                results[path.name] = figures
                if args.sweep:
                    print(f"\n{path.name}: threshold sweep (refusal acc, wrongly refused, cited hit)")
                    for t, acc, wrong, cited in sweep(runtime, clone, questions):
                        print(f"  {t:.2f}  {acc:.2f}  {wrong:.2f}  {cited:.2f}")
            finally:
                runtime.close()
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return
    print(f"\nload average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"{'set':<22} {'q':>6} {'hit@1':>6} {'hit@5':>6} {'cited hit':>9} {'refusals':>8} {'wrong ref':>9} "
          f"{'p50 ms':>9}")
    for name, f in results.items():
        print(_line(name, f) + f"   (ingest {f['ingest_s']:.1f} s)")
        if args.misses:
            rows = [r for r in f["rows"] if not r["unanswerable"]]
            print("   miss@5:", [r["id"] for r in rows if not r["hit5"]], " miss@1:", [r["id"] for r in rows if not r["hit1"]])
            print("   cited miss:", [(r["id"], r["top"][0] if r["top"] else "") for r in rows if not r["cited_hit"]])
            print("   refused:", [r["id"] for r in f["rows"] if r["refused"]])
    print("Targets: hit@5 >= 0.95, hit@1 >= 0.80, cited hit >= 0.85, refusals 1.00, wrongly refused <= 0.05.")


if __name__ == "__main__":
    main()
