"""The chunk store opened by several processes at once on a fresh data directory."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Waits for the go file, then opens the fresh store (which creates its indexes) and lists them.
OPEN_STORE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core.knowledge.store import ChunkStore
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.001)
    store = ChunkStore(sys.argv[1])
    print(sorted(c for index in store.table.list_indices() for c in index.columns))
""")


def test_processes_opening_a_fresh_store_together_all_get_its_indexes(tmp_path):
    for round_ in range(6):
        uri, go = tmp_path / f"lance{round_}", tmp_path / f"go{round_}"
        starters = [subprocess.Popen([sys.executable, "-c", OPEN_STORE, str(uri), str(go)], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        go.touch()
        results = [p.communicate(timeout=120) for p in starters]
        assert [p.returncode for p in starters] == [0, 0, 0], [err[-600:] for _, err in results]
        assert len({out for out, _ in results}) == 1 and "clone_id" in results[0][0]
