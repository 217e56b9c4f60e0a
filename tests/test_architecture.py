"""`core` is the product's logic: it imports and runs without Streamlit, and never imports the UI."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
FORBIDDEN = {"streamlit", "studio", "app_pages"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module", "__import__"
        ) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def test_no_core_file_imports_the_ui():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & FORBIDDEN)
        for path in CORE.rglob("*.py")
        if _imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


SCRIPT = textwrap.dedent("""
    import importlib, pkgutil, sys
    sys.modules["streamlit"] = None  # any `import streamlit` now raises ImportError
    import core
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if info.name != "core.__main__":
            importlib.import_module(info.name)
    from core.chat import answer
    from core.clones import create_clone
    from core.knowledge.ingest import ingest_now
    from core.runtime import open_runtime
    runtime = open_runtime(seed_demo=False)
    clone = create_clone(runtime, "Headless")
    ingest_now(runtime, clone.id, "notes.md", b"# Notes\\n\\nThe lighthouse is painted red and white.")
    result = answer(runtime, clone.id, "What colour is the lighthouse?")
    runtime.close()
    assert "streamlit" not in [m for m in sys.modules if sys.modules[m] is not None], "streamlit was imported"
    print(result["status"], result["citations"][0]["cited"])
""")


def test_core_imports_and_answers_without_streamlit(settings):
    env = {**os.environ, "CLONE_STUDIO_HOME": str(settings.home), "DATABASE_URL": settings.database_url}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["complete", "True"]
