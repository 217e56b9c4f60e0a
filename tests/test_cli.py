"""`python -m core clones …` and `python -m core ask …` as a user runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.clones import create_clone, list_clones
from core.knowledge.ingest import ingest_now
from core.runtime import open_runtime

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(settings):
    env = {**os.environ, "CLONE_STUDIO_HOME": str(settings.home), "DATABASE_URL": settings.database_url}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=180)

    return run


def _one_plain_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_clones_create_list_and_delete(cli, settings):
    created = cli("clones", "create", "Marta", "--description", "The bakery's guide.")
    assert created.returncode == 0, created.stderr
    assert "Created clone 'Marta'" in created.stdout

    duplicate = cli("clones", "create", "marta")
    assert duplicate.returncode == 1
    assert _one_plain_line(duplicate) == "error: You already have a clone called 'marta'; choose another name."

    listed = cli("clones", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["slug"], r["description"], r["documents"], r["chats"], r["last_used"]) for r in rows] == [
        ("Marta", "marta", "The bakery's guide.", 0, 0, None)]
    assert "Marta" in cli("clones", "list").stdout

    deleted = cli("clones", "delete", "MARTA")
    assert deleted.returncode == 0 and "Deleted clone 'Marta'" in deleted.stdout
    runtime = open_runtime(settings, seed_demo=False)
    try:
        with runtime.session() as session:
            assert list_clones(session) == []
    finally:
        runtime.close()


def test_ask_json_shape_and_thread_continuation(cli, settings):
    runtime = open_runtime(settings, seed_demo=False)
    try:
        clone = create_clone(runtime, "Marta")
        ingest_now(runtime, clone.id, "bakery.md", b"# Hours\n\nThe bakery is open from 7:00 to 18:00, Tuesday to Friday.")
    finally:
        runtime.close()

    done = cli("ask", "--clone", "marta", "--json", "When is the bakery open?")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"answer", "thread_id", "provider", "model", "citations", "timings_ms"} <= set(result)
    assert "7:00 to 18:00" in result["answer"] and "[1]" in result["answer"]
    assert (result["provider"], result["model"]) == ("offline", "extractive")
    assert set(result["timings_ms"]) == {"retrieval", "first_token", "total"}
    assert all(isinstance(v, float) for v in result["timings_ms"].values())
    citation = result["citations"][0]
    assert set(citation) == {"n", "document", "page", "text", "score", "cited"}
    assert (citation["n"], citation["document"], citation["page"], citation["cited"]) == (1, "bakery.md", None, True)

    follow = cli("ask", "--clone", "Marta", "--thread", result["thread_id"], "What", "about", "Mondays?")
    assert follow.returncode == 0, follow.stderr
    assert "Sources:" in follow.stdout and "bakery.md" in follow.stdout
    assert f"Thread: {result['thread_id']}" in follow.stdout


def test_ask_with_bad_input_exits_with_one_plain_line(cli):
    unknown = cli("ask", "--clone", "Nobody", "--json", "Hello?")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert _one_plain_line(unknown) == "error: There is no clone called 'Nobody'; check the name or create it first."

    usage = cli("ask", "Hello?")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
