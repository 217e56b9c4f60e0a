"""Shared by bench/api.py and bench/api_load.py: a studio data directory whose clone holds
`n` chunks (synthetic texts and vectors, as bench/retrieval.py makes them), a token for it,
and `streamlit run streamlit_app.py` on 127.0.0.1 serving it."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_module(name: str):
    """A sibling bench script as a module (bench/ itself stays off sys.path: its file names,
    named like a standard module, would shadow it)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_retrieval = _bench_module("retrieval")
VOCAB, add_chunks = _retrieval.VOCAB, _retrieval.add_chunks

from core.api.tokens import create_token  # noqa: E402
from core.clones import create_clone  # noqa: E402
from core.config import Settings  # noqa: E402
from core.runtime import open_runtime  # noqa: E402


def seed(home: Path, chunks: int) -> tuple[str, str]:
    """(clone id, token) in a fresh data directory."""
    runtime = open_runtime(Settings(home, f"sqlite:///{home / 'studio.db'}", str(home / "lancedb"), 50), seed_demo=False)
    try:
        clone = create_clone(runtime, "Bench Clone")
        add_chunks(runtime, clone.id, chunks)
        runtime.store.optimize()
        return clone.id, create_token(runtime, "bench").token
    finally:
        runtime.close()


def queries(n: int, offset: int = 0) -> list[str]:
    """Distinct questions made of the corpus's pseudo-words, so full-text search matches."""
    return [f"what about {VOCAB[(offset + 7 * i) % 400]} and {VOCAB[(offset + 13 * i + 5) % 900]}?" for i in range(n)]


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
