"""Prompt studio timings: applying a template (target < 2 s), creating from one, saving and
activating versions, diffing, duplicating with a long history, and a bundle round trip.

Prints median and max per operation and the ratio to the 2 s template target.
Run: python bench/prompts.py [--repeats 20] [--versions 200] [--files 5]
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

from core.bundles import export_bundle, import_bundle  # noqa: E402
from core.clones import create_clone  # noqa: E402
from core.config import Settings  # noqa: E402
from core.knowledge.ingest import ingest_now  # noqa: E402
from core.lifecycle import create_from_template, duplicate_clone  # noqa: E402
from core.prompts import activate_version, diff_versions, history_records, save_version  # noqa: E402
from core.runtime import open_runtime  # noqa: E402
from core.template_library import apply_template, list_templates  # noqa: E402

TEMPLATE_TARGET_S = 2.0


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def report(name: str, seconds: list[float]) -> float:
    median = statistics.median(seconds)
    print(f"{name:<44} median {median * 1000:8.1f} ms   max {max(seconds) * 1000:8.1f} ms   (n={len(seconds)})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--versions", type=int, default=200, help="system versions saved before duplicating")
    parser.add_argument("--files", type=int, default=5, help="documents in the bundle")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-prompts-"))
    runtime = open_runtime(Settings(home=home, database_url=f"sqlite:///{home / 'studio.db'}",
                                    lancedb_uri=str(home / "lancedb"), max_upload_mb=50), seed_demo=False)
    templates = [t.id for t in list_templates()]
    clone = create_clone(runtime, "Bench")

    apply = [timed(lambda t=templates[i % len(templates)]: apply_template(runtime, clone.id, t))
             for i in range(args.repeats)]
    create = [timed(lambda i=i: create_from_template(runtime, f"From template {i}", templates[i % len(templates)]))
              for i in range(args.repeats)]

    def save(n: int) -> None:
        with runtime.session() as session:
            save_version(session, clone.id, "system", f"You are {{{{ clone_name }}}}. Revision {n}.\n" * 20, f"rev {n}")

    saves = [timed(lambda n=n: save(n)) for n in range(args.versions)]
    with runtime.session() as session:
        activations = [timed(lambda v=v: activate_version(session, clone.id, "system", v))
                       for v in range(2, 2 + args.repeats)]
        diffs = [timed(lambda v=v: diff_versions(session, clone.id, "system", v, v + 1)) for v in range(2, 2 + args.repeats)]
    duplicate = [timed(lambda: duplicate_clone(runtime, clone.id)) for _ in range(3)]
    with runtime.session() as session:
        versions = len(history_records(session, clone.id))

    for n in range(args.files):
        text = "\n\n".join(f"# Part {n}.{k}\n\nFacts about topic {n}.{k}: " + "words " * 120 for k in range(20))
        ingest_now(runtime, clone.id, f"notes-{n}.md", text.encode())
    exports, imports, sizes = [], [], []
    for _ in range(3):
        start = time.perf_counter()
        data = export_bundle(runtime, clone.id)
        exports.append(time.perf_counter() - start)
        sizes.append(len(data))
        imports.append(timed(lambda: import_bundle(runtime, data, wait=True)))

    print(f"Prompt studio on {home} ({len(templates)} templates, {args.versions} saved versions, {args.files} files)")
    applied = report("apply a template to a clone", apply)
    report("create a clone from a template", create)
    report("save a version (validate + insert)", saves)
    report("activate a version", activations)
    report("diff two versions", diffs)
    report(f"duplicate a clone with {versions} prompt versions", duplicate)
    report(f"export a bundle ({statistics.median(sizes) / 1024:.0f} KB)", exports)
    report(f"import a bundle and re-index {args.files} files", imports)
    print(f"template application: {applied / TEMPLATE_TARGET_S:.3f} of the {TEMPLATE_TARGET_S:.0f} s target")
    runtime.close()
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
