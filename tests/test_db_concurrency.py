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


# ---------------------------------------------------------------- appends

APPENDS = 500

_APPENDER = textwrap.dedent("""
    import sys
    from core.config import load_settings
    from core.conversations import append_message, get_thread
    from core.models import Message
    from core.runtime import Runtime
    runtime = Runtime(load_settings())
    thread_id, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for k in range(count):
        with runtime.session() as session:
            append_message(session, get_thread(session, thread_id), Message(role="user", content=f"{writer}-{k}"))
    runtime.close()
""")


def _append(runtime, thread_id: str, writer: str, count: int) -> None:
    from core.conversations import append_message, get_thread
    from core.models import Message

    for k in range(count):
        with runtime.session() as session:
            append_message(session, get_thread(session, thread_id), Message(role="user", content=f"{writer}-{k}"))


def _check_appends(runtime, thread_id: str, writers: list[str]) -> None:
    from core.conversations import thread_messages

    with runtime.session() as session:
        contents = [m.content for m in thread_messages(session, thread_id)]
    assert len(contents) == APPENDS * len(writers), f"{APPENDS * len(writers) - len(contents)} appends lost"
    for writer in writers:
        mine = [int(c.split("-")[1]) for c in contents if c.startswith(f"{writer}-")]
        assert mine == list(range(APPENDS)), f"{writer}'s messages are lost or out of order"


@pytest.fixture
def thread_id(runtime):
    from core.clones import create_clone
    from core.conversations import create_thread

    clone = create_clone(runtime, "Appender", "", "✍", "You are {{ clone_name }}.")
    with runtime.session() as session:
        return create_thread(session, clone.id).id


@pytest.mark.timeout(180)
def test_two_threads_appending_500_messages_each_lose_nothing(runtime, thread_id):
    import threading

    errors = []

    def work(writer):
        try:
            _append(runtime, thread_id, writer, APPENDS)
        except Exception as error:  # reported below: a lost append must fail the test, not vanish
            errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(150)
    assert errors == [] and not any(t.is_alive() for t in threads)
    _check_appends(runtime, thread_id, ["t0", "t1"])


@pytest.mark.timeout(180)
def test_two_processes_appending_500_messages_each_lose_nothing(runtime, thread_id):
    running = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, thread_id, f"p{i}", str(APPENDS)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    outcomes = [process.communicate(timeout=150) + (process.returncode,) for process in running]
    assert [code for _, _, code in outcomes] == [0, 0], [err[-600:] for _, err, _ in outcomes]
    _check_appends(runtime, thread_id, ["p0", "p1"])
