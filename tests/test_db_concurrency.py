"""Concurrency at the database: processes migrating a fresh data directory at once, and
threads and processes appending to the same conversations."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import _fresh_database

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 4

# Everything imported first; then each process says it is ready and waits for the others,
# so all open the fresh data directory within a millisecond of each other.
_RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import core.cli, core.runtime, core.db, core.cli.clones, alembic.command  # noqa: F401
    gate, me, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    (gate / me).touch()
    deadline = time.monotonic() + 60
    while len(list(gate.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    sys.exit(core.cli.main(["clones", "list", "--json"]))
""")


def _race(home: Path, database_url: str, processes: int = 2) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "CLONE_STUDIO_HOME": str(home), "DATABASE_URL": database_url}
    gate = home.parent / f"{home.name}-gate"
    gate.mkdir(parents=True)
    running = [
        subprocess.Popen([sys.executable, "-c", _RACER, str(gate), str(i), str(processes)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(processes)
    ]
    results = []
    for process in running:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def _fresh_url(tmp_path: Path, round_: int) -> tuple[str, callable]:
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgresql"):
        return _fresh_database(base)
    return f"sqlite:///{tmp_path / f'round{round_}' / 'studio.db'}", lambda: None


@pytest.mark.timeout(300)
def test_two_processes_migrating_a_fresh_data_directory_at_once_never_crash(tmp_path, monkeypatch):
    failures = []
    for round_ in range(ROUNDS):
        home = tmp_path / f"round{round_}"
        url, drop = _fresh_url(tmp_path, round_)
        try:
            for result in _race(home, url):
                if result.returncode != 0 or "Traceback" in result.stderr or result.stdout.strip() != "[]":
                    failures.append((round_, result.returncode, result.stderr[-800:]))
        finally:
            drop()
    assert failures == [], f"{len(failures)} of {2 * ROUNDS} processes failed: {failures[:2]}"
